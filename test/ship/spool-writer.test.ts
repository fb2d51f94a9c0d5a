import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ChunkBuilder, type Chunk } from '../../src/forward/chunk.js';
import { emptyCounts } from '../../src/ship/counts.js';
import { ChunkSaves, SpoolWriter, UNSAVED_CHUNKS, type ChunkSink } from '../../src/ship/spool-writer.js';
import { StateFileWriter } from '../../src/state-file.js';
import { tempDir } from '../helpers/cli.js';

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

/** A spool whose every write fails, as on a full disk. */
class FailingSink implements ChunkSink {
  append(): Promise<void> {
    return Promise.reject(new Error('ENOSPC'));
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

/** A writer over `sink` with `maxRecords` records a chunk; `rotations` counts the full chunks let through. */
function writer(sink: ChunkSink, gzipLevel: number | null, maxRecords = 1) {
  const builder = new ChunkBuilder({ maxRecords, maxBytes: 1024 * 1024 });
  const spoolWriter = new SpoolWriter(
    sink,
    builder,
    emptyCounts(),
    { gzipLevel, bodies: null, checkpoint: null, flushIntervalMs: 60_000, since: null, until: null },
    () => null,
  );
  const state = { rotations: 0 };
  /** Fills a chunk and rotates, as the pipeline does; resolves when the next chunk may be built. */
  const fill = async (i: number) => {
    builder.append(1632312000 + i, 0, { i });
    await spoolWriter.rotate();
    state.rotations++;
  };
  return { spoolWriter, state, fill, builder };
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

  it('tells that an input ended only once its last lines are in the spool, and goes on into the same chunk', async () => {
    const sink = new HeldSink();
    const w = writer(sink, null, 10);
    const told: string[] = [];
    w.builder.append(1632312000, 0, { file: 'a' });
    w.spoolWriter.whenSpooled(() => told.push('a'));
    // The next input's record joins the chunk that holds a's last one.
    w.builder.append(1632312001, 0, { file: 'b' });
    w.spoolWriter.whenSpooled(() => told.push('b'));
    const flushed = w.spoolWriter.flush();
    await settle();
    assert.equal(told.length, 0, 'an input was told done before its chunk was written');
    assert.equal(sink.pending.length, 1, 'both inputs went into one chunk');
    assert.equal(sink.pending[0]!.chunk.count, 2);
    sink.finishOne();
    await flushed;
    assert.deepEqual(told, ['a', 'b']);

    // An input that added nothing to the chunk being built waits for the writes before it.
    w.builder.append(1632312002, 0, { file: 'c' });
    const writing = w.spoolWriter.flush();
    w.spoolWriter.whenSpooled(() => told.push('empty'));
    await settle();
    assert.deepEqual(told, ['a', 'b'], 'told done while a write before it was still in progress');
    sink.finishOne();
    await writing;
    await settle();
    assert.deepEqual(told, ['a', 'b', 'empty']);
  });

  it('never tells that an input ended when its chunk could not be written', async () => {
    const w = writer(new FailingSink(), null, 10);
    const told: string[] = [];
    w.builder.append(1632312000, 0, { file: 'a' });
    w.spoolWriter.whenSpooled(() => told.push('a'));
    await assert.rejects(w.spoolWriter.flush(), /ENOSPC/);
    w.spoolWriter.whenSpooled(() => told.push('after'));
    await settle();
    assert.equal(told.join(), '');
    assert.match(String(w.spoolWriter.failure), /ENOSPC/);
  });
});

describe('ChunkSaves', () => {
  it('saves the checkpoint every three chunks however many positions each records, and a chunk waits for the one UNSAVED_CHUNKS before it', async () => {
    const path = join(tempDir(), 'checkpoint.json');
    let replaces = 0;
    // The file holds the number of positions recorded when its replace began.
    const file: StateFileWriter = new StateFileWriter(
      path,
      () => {
        replaces++;
        return `${file.changes}\n`;
      },
      false,
      (error) => error as Error,
      false,
    );
    const saves = new ChunkSaves({
      changes: () => file.changes,
      request: (v) => file.request(v),
      savedThrough: (v) => file.savedThrough(v),
    });
    const recorded: number[] = [];
    for (let chunk = 0; chunk < 30; chunk++) {
      // A chunk's position and 16 small files done in it.
      for (let k = 0; k < 17; k++) file.changed();
      recorded.push(file.changes);
      await saves.spooled();
      if (chunk < UNSAVED_CHUNKS) continue;
      const onDisk = existsSync(path) ? Number(readFileSync(path, 'utf8')) : 0;
      assert.ok(onDisk >= recorded[chunk - UNSAVED_CHUNKS]!, `after chunk ${chunk}: ${onDisk} positions saved`);
    }
    assert.ok(replaces <= 11, `${replaces} replaces for 30 chunks`);
  });
});
