import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChunkBuilder, type Chunk } from '../../src/forward/chunk.js';
import { emptyCounts } from '../../src/ship/counts.js';
import { SpoolWriter, type ChunkSink } from '../../src/ship/spool-writer.js';

/** A spool whose writes finish only when the test says: how many chunks wait for the disk is then plain to see. */
class HeldSink implements ChunkSink {
  readonly pending: { chunk: Chunk; done: () => void }[] = [];
  readonly written: Chunk[] = [];

  append(chunk: Chunk): Promise<void> {
    return new Promise((resolve) =>
      this.pending.push({
        chunk,
        done: () => {
          this.written.push(chunk);
          resolve();
        },
      }),
    );
  }

  /** Finishes the oldest write still in progress. */
  finishOne(): void {
    this.pending.shift()!.done();
  }
}

/** Lets queued promise callbacks and the thread pool's gzip run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/** A writer over `sink` with one record a chunk; `rotations` counts the full chunks let through. */
function writer(sink: HeldSink, gzipLevel: number | null) {
  const builder = new ChunkBuilder({ maxRecords: 1, maxBytes: 1024 * 1024 });
  const spoolWriter = new SpoolWriter(
    sink,
    builder,
    emptyCounts(),
    { gzipLevel, bodies: null, checkpoint: null, flushIntervalMs: 60_000 },
    () => null,
  );
  const state = { rotations: 0 };
  /** Fills a chunk and rotates, as the pipeline does; resolves when the next chunk may be built. */
  const fill = async (i: number) => {
    builder.append(1632312000 + i, 0, { i });
    await spoolWriter.rotate();
    state.rotations++;
  };
  return { spoolWriter, state, fill };
}

describe('SpoolWriter', () => {
  it('without --compress, a full chunk waits while the one before it is still being written', async () => {
    const sink = new HeldSink();
    const { spoolWriter, state, fill } = writer(sink, null);
    await fill(0);
    await settle();
    assert.equal(sink.pending.length, 1, 'the first chunk is being written');
    const second = fill(1);
    await settle();
    assert.equal(state.rotations, 1, 'the second chunk went on while the first was still being written');
    sink.finishOne();
    await second;
    await settle();
    assert.equal(sink.pending.length, 1, 'the second chunk is being written once the first is done');
    sink.finishOne();
    await spoolWriter.flush();
    assert.deepEqual(
      sink.written.map((c) => c.count),
      [1, 1],
    );
  });

  it('with --compress, two chunks may wait: the next is compressed while the one before is written', async () => {
    const sink = new HeldSink();
    const { spoolWriter, state, fill } = writer(sink, 6);
    await fill(0);
    await fill(1);
    await settle();
    assert.equal(state.rotations, 2, 'the second chunk waited for the first');
    assert.equal(sink.pending.length, 1, 'writes still go one after another');
    const third = fill(2);
    await settle();
    assert.equal(state.rotations, 2, 'a third chunk went on with two still waiting for the disk');
    sink.finishOne();
    await third;
    for (let left = 2; left > 0; left--) {
      await settle();
      sink.finishOne();
    }
    await spoolWriter.flush();
    assert.equal(sink.written.length, 3);
    assert.ok(
      sink.written.every((c) => c.compressed),
      'every chunk was written compressed',
    );
  });
});
