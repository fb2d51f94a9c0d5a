/**
 * Reading in turns: every byte delivered in order, the end found by a read of nothing or told by a
 * short read, a short read that is not the end read on, and the buffers handed to the next input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { READ_CHUNK_BYTES, readInTurns } from '../../src/input/decode.js';
import type { InputSource } from '../../src/input/sources.js';

/** An input of `size` bytes that gives at most `most` a read, and remembers the buffers it read into. */
function input(size: number, most = Infinity) {
  const bytes = Buffer.from(Array.from({ length: size }, (_, i) => i % 251));
  const state = { position: 0, reads: 0, into: [] as Buffer[] };
  const read = async (into: Buffer) => {
    state.reads += 1;
    state.into.push(into);
    const n = bytes.copy(into, 0, state.position, state.position + Math.min(into.length, most));
    state.position += n;
    return n;
  };
  return { bytes, state, read, source: { bytesRead: 0 } as InputSource };
}

async function all(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

describe('readInTurns', () => {
  it('makes one read of an input shorter than a chunk when a short read is its end, two without', async () => {
    for (const [told, reads] of [
      [true, 1],
      [false, 2],
    ] as const) {
      const { bytes, state, read, source } = input(10_000);
      const out = await all(readInTurns(source, read, undefined, (short) => told && short));
      assert.deepEqual(out, bytes);
      assert.equal(state.reads, reads);
      assert.equal(source.bytesRead, bytes.length);
    }
  });

  it('reads on after a short read that is not the end, as a network file system may give', async () => {
    const size = READ_CHUNK_BYTES * 2 + 1000;
    const { bytes, state, read, source } = input(size, 4096);
    const out = await all(readInTurns(source, read, undefined, (short) => short && state.position >= size));
    assert.deepEqual(out, bytes);
    assert.equal(state.reads, Math.ceil(size / 4096));
  });

  it('hands its buffers to the next input after an end told by a short read, the one not last read into first', async () => {
    const first = input(1000);
    await all(readInTurns(first.source, first.read, undefined, (short) => short));
    const second = input(1000);
    await all(readInTurns(second.source, second.read, undefined, (short) => short));
    assert.equal(first.state.into.length, 1);
    assert.equal(second.state.into.length, 1);
    assert.ok(second.state.into[0] !== first.state.into[0], 'not the buffer the first input was last read into');
    // A third input takes the other: both were handed on, none allocated anew.
    const third = input(1000);
    await all(readInTurns(third.source, third.read, undefined, (short) => short));
    assert.ok(third.state.into[0] === first.state.into[0] || third.state.into[0] === second.state.into[0]);
  });
});
