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

/** Finishes each write as it comes, until the writer has written all it was given. */
async function drain(sink: HeldSink, spoolWriter: SpoolWriter): Promise<void> {
  let done = false;
  const flushed = spoolWriter.flush().then(() => (done = true));
  while (!done) {
    await settle();
    if (sink.pending.length > 0) sink.finishOne();
  }
  await flushed;
}

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

type Writer = ReturnType<typeof writer>;

/** Fills chunk `i` and checks that it waits for the disk: held while the writes stand, let through once one finishes. */
async function waitsForOneWrite(sink: HeldSink, w: Writer, i: number): Promise<void> {
  const before = w.state.rotations;
  const filling = w.fill(i);
  await settle();
  assert.equal(w.state.rotations, before, `chunk ${i} went on without waiting for a write`);
  sink.finishOne();
  await filling;
}

describe('SpoolWriter', () => {
  it('without --compress, a full chunk waits while the one before it is still being written', async () => {
    const sink = new HeldSink();
    const w = writer(sink, null);
    await w.fill(0);
    await settle();
    assert.equal(sink.pending.length, 1, 'the first chunk is being written');
    await waitsForOneWrite(sink, w, 1);
    await settle();
    assert.equal(sink.pending.length, 1, 'the second chunk is being written once the first is done');
    await drain(sink, w.spoolWriter);
    assert.equal(sink.written.length, 2);
  });

  it('with --compress, two chunks may wait: the next is compressed while the one before is written', async () => {
    const sink = new HeldSink();
    const w = writer(sink, 6);
    await w.fill(0);
    await w.fill(1);
    await settle();
    assert.equal(w.state.rotations, 2, 'the second chunk waited for the first to be written');
    assert.equal(sink.pending.length, 1, 'writes still go one after another');
    await waitsForOneWrite(sink, w, 2);
    await drain(sink, w.spoolWriter);
    assert.equal(sink.written.length, 3);
    assert.ok(
      sink.written.every((c) => c.compressed),
      'every chunk was written compressed',
    );
  });
});
