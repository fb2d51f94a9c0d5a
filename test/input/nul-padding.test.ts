/** Zero padding in a line (a crash's zeroed blocks): where a line is split, and what is dropped. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describePadding, PADDING_RUN, splitAtPadding, squeezePadding } from '../../src/input/nul-padding.js';

const line = (...parts: (string | number)[]) => ({
  number: 7,
  bytes: Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.alloc(p) : Buffer.from(p)))),
  overLimit: 0,
  end: 1234,
});
const texts = (padded: ReturnType<typeof splitAtPadding>) => padded?.parts.map((p) => p.bytes.toString());

describe('splitAtPadding', () => {
  it('leaves a line without NULs alone', () => {
    assert.equal(splitAtPadding(line('{"a":1}')), null);
  });

  it('splits at a run of padding: the record a crash cut, and the one written after the restart', () => {
    const padded = splitAtPadding(line('{"cut', 4096, '{"next":1}'));
    assert.deepEqual(texts(padded), ['{"cut', '{"next":1}']);
    assert.equal(padded!.nuls, 4096);
    for (const part of padded!.parts) assert.deepEqual([part.number, part.end, part.overLimit], [7, 1234, 0], 'the line it came from');
    assert.match(
      describePadding(padded!),
      /^4096 NUL bytes of zero padding dropped .*; the 2 parts around it are judged as lines of their own$/,
    );
  });

  it('drops any run at either end, and only runs of padding length inside', () => {
    assert.deepEqual(texts(splitAtPadding(line(3, '{"a":1}', 1))), ['{"a":1}']);
    assert.equal(splitAtPadding(line('{"a":"x', PADDING_RUN - 1, 'y"}')), null, 'a few NULs inside are damage, not padding');
    assert.deepEqual(texts(splitAtPadding(line('a', PADDING_RUN, 'b', 2, 'c', PADDING_RUN + 1, 'd'))), ['a', 'b\0\0c', 'd']);
    const alone = splitAtPadding(line(500));
    assert.deepEqual(texts(alone), []);
    assert.equal(alone!.nuls, 500);
    assert.doesNotMatch(describePadding(alone!), /parts/);
  });

  it('leaves a line over the length limit to be reported as such', () => {
    assert.equal(splitAtPadding({ ...line('{', 100, '}'), overLimit: 5_000_000 }), null);
  });
});

describe('squeezePadding', () => {
  const bytes = (...parts: (string | number)[]) =>
    Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.alloc(p) : Buffer.from(p))));

  it('cuts each run longer than padding to PADDING_RUN NULs, and leaves shorter ones', () => {
    const squeezed = squeezePadding(bytes(100, 'a', PADDING_RUN, 'b', 3, 'c', PADDING_RUN + 1, 'd', 5000));
    assert.deepEqual(squeezed.bytes, bytes(PADDING_RUN, 'a', PADDING_RUN, 'b', 3, 'c', PADDING_RUN, 'd', PADDING_RUN));
    assert.equal(squeezed.dropped, 100 - PADDING_RUN + 1 + 5000 - PADDING_RUN);
    const none = bytes('a', 3, 'b');
    assert.equal(squeezePadding(none).bytes, none, 'the same memory when nothing is cut');
    assert.equal(squeezePadding(none).dropped, 0);
  });

  it('counts what the line reader dropped among the NULs splitAtPadding reports', () => {
    const padded = splitAtPadding({ ...line('{"cut', PADDING_RUN, '{"next":1}'), squeezed: 10_000 });
    assert.deepEqual(texts(padded), ['{"cut', '{"next":1}']);
    assert.equal(padded!.nuls, PADDING_RUN + 10_000);
  });
});
