/** The word-at-a-time test for bytes a JSON string cannot copy, against the byte-by-byte rule. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { copyPlainWords, firstFlagged, holdsKnown, knownBytes, specialFlags, writeKnown } from '../../src/msgpack/plain-words.js';
import { prng } from '../../src/sample/generate.js';

/** The rule the scanner's byte loop applies: a quote, a backslash or a control byte ends a plain run. */
const special = (b: number): boolean => b < 0x20 || b === 0x22 || b === 0x5c;

function word(bytes: number[]): number {
  return Buffer.from(bytes).readInt32LE(0);
}

/** Where the flags put the first special byte of the word; -1 when they flag none. */
function flaggedAt(bytes: number[]): number {
  const flags = specialFlags(word(bytes));
  return flags === 0 ? -1 : firstFlagged(flags);
}

describe('specialFlags', () => {
  it('finds the first special byte as the byte loop does, for every byte value at each place in a word and beside any neighbour', () => {
    let flagged = 0;
    for (let b = 0; b < 256; b++) {
      for (const fill of [0x61, 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xff]) {
        for (let at = 0; at < 4; at++) {
          const bytes = [fill, fill, fill, fill];
          bytes[at] = b;
          const expected = bytes.findIndex(special);
          assert.equal(flaggedAt(bytes), expected, `byte ${b.toString(16)} at ${at} among ${fill.toString(16)}`);
          if (expected >= 0) flagged++;
        }
      }
    }
    assert.ok(flagged > 4 * 34 * 9 - 1, 'the special bytes were among those tried');
  });

  it('agrees with the byte loop on a million seeded words weighted towards the bytes near the limits', () => {
    const random = prng(19);
    const near = [0x00, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0x9f, 0xa0, 0xdf, 0xe0, 0xff];
    const pick = (): number => (random() < 0.5 ? near[Math.floor(random() * near.length)]! : Math.floor(random() * 256));
    const outcomes = [0, 0];
    for (let k = 0; k < 1_000_000; k++) {
      const bytes = [pick(), pick(), pick(), pick()];
      const expected = bytes.findIndex(special);
      assert.equal(flaggedAt(bytes), expected, bytes.map((b) => b.toString(16)).join(' '));
      outcomes[expected >= 0 ? 1 : 0]!++;
    }
    assert.ok(outcomes[0]! > 100_000 && outcomes[1]! > 100_000, `both outcomes often: ${outcomes.join(' / ')}`);
  });
});

describe('copyPlainWords', () => {
  const view = (b: Buffer): DataView => new DataView(b.buffer, b.byteOffset, b.length);

  it('copies the plain bytes up to the first special one, wherever it lies in its word', () => {
    for (let at = 0; at < 12; at++) {
      for (const stop of ['"', '\\', '\n', '\x00', '\x1f']) {
        const text = 'abcdefghijklmnop';
        const src = Buffer.from(text.slice(0, at) + stop + text.slice(at + 1));
        const out = Buffer.alloc(20, 0x2e);
        assert.equal(copyPlainWords(view(src), 0, src.length - 1, view(out), 2), at, `${JSON.stringify(stop)} at ${at}`);
        assert.equal(out.subarray(2, 2 + at).toString(), text.slice(0, at));
      }
    }
    const src = Buffer.from('abcdefgh"jklmnop');
    assert.equal(
      copyPlainWords(view(src), 1, src.length - 1, view(Buffer.alloc(16)), 0),
      7,
      'a run that does not start on a word boundary',
    );
  });

  it('reads no byte after the last one it is allowed', () => {
    const src = Buffer.from('abcdefghij');
    const out = Buffer.alloc(16);
    for (let last = 0; last < src.length; last++) {
      const copied = copyPlainWords(view(src), 0, last, view(out), 0);
      assert.equal(copied, Math.floor((last + 1) / 4) * 4, `up to ${last}`);
    }
  });
});

describe('known bytes (a key and its colon)', () => {
  const view = (b: Buffer): DataView => new DataView(b.buffer, b.byteOffset, b.length);

  it('finds a difference at any byte of any length, in the whole words and in the bytes after them', () => {
    for (let length = 1; length <= 13; length++) {
      const key = Buffer.from('"ResponseBody":'.slice(0, length));
      const known = knownBytes(key);
      assert.equal(known.words.length, length >> 2);
      const text = Buffer.concat([Buffer.from('xyz'), key, Buffer.from('tail')]);
      assert.ok(holdsKnown(view(text), 3, known), `length ${length}: the bytes themselves`);
      assert.ok(!holdsKnown(view(text), 2, known), `length ${length}: one byte early`);
      for (let at = 0; at < length; at++) {
        const changed = Buffer.from(text);
        changed[3 + at] = changed[3 + at]! ^ 0x20;
        assert.ok(!holdsKnown(view(changed), 3, known), `length ${length}: byte ${at} changed`);
      }
    }
  });

  it('writes exactly its bytes, at any place, and nothing around them', () => {
    for (let length = 1; length <= 13; length++) {
      const key = Buffer.from([0xa0 | (length - 1), ...Buffer.from('ResponseBody'.slice(0, length - 1))]);
      for (let to = 0; to < 4; to++) {
        const out = Buffer.alloc(24, 0x2e);
        writeKnown(view(out), to, knownBytes(key));
        assert.deepEqual(out, Buffer.concat([Buffer.alloc(to, 0x2e), key, Buffer.alloc(24 - to - length, 0x2e)]), `${length} at ${to}`);
      }
    }
  });
});
