/**
 * The byte-level checks of the fast path against references: IPv4 and IPv6 against node:net's
 * isIPv4 and isIPv6, which the validator uses, and the UUID check against the schema's pattern
 * written as a regular expression.
 */
import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import { describe, it } from 'node:test';
import { classifyUuidBytes, isIpv4Bytes, isIpv6Bytes, type UuidVerdict } from '../../src/schema/checks.js';
import { prng } from '../../src/sample/generate.js';

/**
 * A byte check on `text` placed inside a larger buffer, between two `fence` bytes that could
 * continue it, so that it must keep to its bounds.
 */
function inside<T>(byteCheck: (b: Uint8Array, start: number, end: number) => T, fence: string, text: string): T {
  const bytes = Buffer.from(`${fence}${text}${fence}`, 'latin1');
  return byteCheck(bytes, 1, bytes.length - 1);
}

const check = (text: string): boolean => inside(isIpv4Bytes, '9', text);

describe('isIpv4Bytes', () => {
  it('answers as isIPv4 on the edge cases of a dotted quad', () => {
    const cases = [
      ['0.0.0.0', true],
      ['255.255.255.255', true],
      ['10.20.30.40', true],
      ['1.2.3.0', true],
      ['199.249.250.251', true],
      ['256.0.0.1', false],
      ['1.2.3.260', false],
      ['1000.1.1.1', false],
      ['01.2.3.4', false],
      ['1.2.3.04', false],
      ['1.2.3.00', false],
      ['1.2.3', false],
      ['1.2.3.4.5', false],
      ['1..2.3', false],
      ['.1.2.3', false],
      ['1.2.3.4.', false],
      ['1.2.3.4 ', false],
      ['1.2.3.-4', false],
      ['', false],
      ['1.2.3.\u00b2', false],
      ['::1', false],
    ] as const;
    for (const [text, expected] of cases) {
      assert.equal(isIPv4(text), expected, `the table's own answer for ${text}`);
      assert.equal(check(text), expected, text);
    }
  });

  it('agrees with isIPv4 on 300,000 seeded strings of digits, dots and a few other bytes', () => {
    const random = prng(4);
    const alphabet = ['0', '1', '2', '5', '6', '9', '.', '.', '.', 'a', ':', '/', '\u00b9'];
    const outcomes = [0, 0];
    for (let k = 0; k < 300_000; k++) {
      let text: string;
      if (random() < 0.5) {
        // Four numbers near the limits, then perhaps one byte changed, dropped or added.
        const part = (): string => String([0, 1, 9, 10, 99, 100, 199, 200, 249, 250, 255, 256, 299, 999][Math.floor(random() * 14)]);
        text = [part(), part(), part(), part()].join('.');
        const at = Math.floor(random() * (text.length + 1));
        const c = alphabet[Math.floor(random() * alphabet.length)]!;
        const edit = random();
        if (edit < 0.2) text = text.slice(0, at) + c + text.slice(at + 1);
        else if (edit < 0.4) text = text.slice(0, at) + text.slice(at + 1);
        else if (edit < 0.6) text = text.slice(0, at) + c + text.slice(at);
      } else {
        const length = Math.floor(random() * 18);
        text = Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      }
      const expected = isIPv4(text);
      assert.equal(check(text), expected, JSON.stringify(text));
      outcomes[expected ? 1 : 0]!++;
    }
    assert.ok(outcomes[0]! > 20_000 && outcomes[1]! > 20_000, `both outcomes often: ${outcomes.join(' / ')}`);
  });
});

/** The UUID rule as regular expressions: 8-4-4-4-12 hex digits, version 4 and variant 8, 9, a or b. */
function uuidReference(text: string): UuidVerdict {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(text)) return 'v4';
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text) ? 'other-version' : 'not-uuid';
}

describe('classifyUuidBytes', () => {
  const classify = (text: string): UuidVerdict => inside(classifyUuidBytes, '-', text);

  it('answers as the pattern for every byte value at every place of a version 4 UUID', () => {
    const uuid = '85ed5743-2714-4154-a8d2-854045eab175';
    const seen = new Set<UuidVerdict>();
    for (let at = 0; at < uuid.length; at++) {
      for (let b = 0; b < 256; b++) {
        const text = uuid.slice(0, at) + String.fromCharCode(b) + uuid.slice(at + 1);
        const expected = uuidReference(text);
        assert.equal(classify(text), expected, `byte ${b.toString(16)} at ${at}`);
        seen.add(expected);
      }
    }
    assert.deepEqual([...seen].sort(), ['not-uuid', 'other-version', 'v4']);
  });

  it('refuses any other length, and takes either case', () => {
    assert.equal(classify('85ed5743-2714-4154-a8d2-854045eab17'), 'not-uuid');
    assert.equal(classify('85ed5743-2714-4154-a8d2-854045eab1755'), 'not-uuid');
    assert.equal(classify('85ED5743-2714-4154-A8D2-854045EAB175'), 'v4');
  });
});

describe('isIpv6Bytes', () => {
  const check6 = (text: string): boolean => inside(isIpv6Bytes, ':', text);

  it('takes the common forms and leaves the rest to isIPv6', () => {
    const cases = [
      ['2001:db8:58aa::50a', true],
      ['2001:0db8:0000:0000:0000:ff00:0042:8329', true],
      ['::', true],
      ['::1', true],
      ['1::', true],
      ['1:2:3:4:5:6:7::', true],
      ['::2:3:4:5:6:7:8', true],
      ['1::8', true],
      ['FE80::abcd', true],
      ['1:2:3:4:5:6:7:8:9', false],
      ['1:2:3:4:5:6:7', false],
      ['1::2::3', false],
      [':::', false],
      [':1::2', false],
      ['1::2:', false],
      ['12345::1', false],
      ['g::1', false],
      ['1:2:3:4:5:6:7::8', false],
      ['::ffff:1.2.3.4', false], // an IPv4 tail: isIPv6 takes it, the check leaves it to isIPv6
      ['fe80::1%eth0', false],
      ['', false],
    ] as const;
    for (const [text, expected] of cases) {
      assert.equal(check6(text), expected, text);
      if (expected) assert.ok(isIPv6(text), `isIPv6 takes ${text} too`);
    }
  });

  it('never takes what isIPv6 refuses, and takes every common form, on 300,000 seeded strings', () => {
    const random = prng(6);
    const group = (): string => ['0', '1', 'a', 'ff', 'db8', 'FFFF', '0000', '12345', 'g'][Math.floor(random() * 9)]!;
    const outcomes = [0, 0];
    for (let k = 0; k < 300_000; k++) {
      const count = 1 + Math.floor(random() * 9);
      const groups = Array.from({ length: count }, group);
      // Often one `::` somewhere, sometimes two, and sometimes a stray byte.
      if (random() < 0.6) groups.splice(Math.floor(random() * (count + 1)), 0, '');
      if (random() < 0.05) groups.splice(Math.floor(random() * (count + 1)), 0, '');
      let text = groups.join(':');
      if (text.startsWith(':') && !text.startsWith('::')) text = `:${text}`;
      if (text.endsWith(':') && !text.endsWith('::')) text = `${text}:`;
      if (random() < 0.1) {
        const at = Math.floor(random() * (text.length + 1));
        text = text.slice(0, at) + [':', '.', '%', ' ', '\u00e9'][Math.floor(random() * 5)] + text.slice(at);
      }
      const mine = check6(text);
      if (mine) assert.ok(isIPv6(text), `isIPv6 refuses ${text}, which the check took`);
      // The common form: hex groups of 1 to 4 and colons only, no IPv4 tail, no zone.
      if (isIPv6(text) && /^[0-9a-f:]*$/i.test(text)) assert.ok(mine, `the check left the common form ${text} to isIPv6`);
      outcomes[mine ? 1 : 0]!++;
    }
    assert.ok(outcomes[0]! > 20_000 && outcomes[1]! > 20_000, `both outcomes often: ${outcomes.join(' / ')}`);
  });
});
