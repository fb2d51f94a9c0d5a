/** The byte-level IPv4 check of the fast path against node:net's isIPv4, which the validator uses. */
import assert from 'node:assert/strict';
import { isIPv4 } from 'node:net';
import { describe, it } from 'node:test';
import { isIpv4Bytes } from '../../src/schema/checks.js';
import { prng } from '../../src/sample/generate.js';

/** The check on `text` placed inside a larger buffer, so that it must keep to its bounds. */
function check(text: string): boolean {
  const bytes = Buffer.from(`9${text}9`, 'latin1');
  return isIpv4Bytes(bytes, 1, bytes.length - 1);
}

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
