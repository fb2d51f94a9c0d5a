import { strict as assert } from 'node:assert';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Chunk } from '../../src/forward/chunk.js';
import { listSegments } from '../../src/spool/segments.js';
import { Spool } from '../../src/spool/spool.js';
import { tempDir } from '../helpers/cli.js';
import { chunksOf } from '../helpers/forward.js';
import { lockOfGoneProcess, spoolOptions as options } from '../helpers/spool.js';

/** Appends each chunk, hands it out and acks it before the next, as a live tail's chunks go. */
async function oneAtATime(spool: Spool, dir: string, chunks: Chunk[], seen: number[][] = []): Promise<void> {
  for (const c of chunks) {
    await spool.append(c);
    const sent = await spool.next();
    assert.equal(sent?.id, c.id);
    spool.ack(c.id);
    seen.push(listSegments(dir).map((s) => s.seq));
  }
}

describe('SegmentFiles', () => {
  it('keeps chunks acked one at a time in one segment file until it is full, then deletes it', async () => {
    const dir = join(tempDir(), 'spool');
    const { chunks } = chunksOf(60, 3);
    const size = chunks[0]!.entries.length;
    // A segment takes no more frames past an eighth of the cap: about 4 chunks here.
    const spool = await Spool.open(options(dir, { maxBytes: Math.max(64 * 1024, size * 32) }));
    const seen: number[][] = [];
    await oneAtATime(spool, dir, chunks, seen);
    assert.deepEqual(seen.slice(0, 3), [[1], [1], [1]], 'the first chunks share the first segment');
    const seqs = new Set(seen.flat());
    assert.ok(seqs.size > 1 && seqs.size < chunks.length / 2, `a segment holds several chunks: ${JSON.stringify(seen)}`);
    for (const s of seen) assert.ok(s.length <= 1, `a full segment, every chunk in it acked, is deleted: ${JSON.stringify(seen)}`);
    assert.equal(spool.stats.records, 0);
    await spool.close();
    assert.deepEqual(listSegments(dir), [], 'the last segment, every chunk in it acked, is deleted at close');
  });

  it('after a crash, gives back only the chunk not acked from the segment that kept acked ones', async () => {
    const dir = join(tempDir(), 'spool');
    const { chunks } = chunksOf(20, 5);
    const spool = await Spool.open(options(dir));
    await oneAtATime(spool, dir, chunks.slice(0, 3));
    await spool.append(chunks[3]!);
    assert.deepEqual(
      listSegments(dir).map((s) => s.seq),
      [1],
    );
    // The disk as a SIGKILL leaves it: the spool never closed, its holder gone.
    const crashed = join(tempDir(), 'spool');
    cpSync(dir, crashed, { recursive: true });
    lockOfGoneProcess(crashed);
    await spool.close();

    const after = await Spool.open(options(crashed));
    assert.equal(after.stats.recoveredChunks, 1);
    assert.equal((await after.next())?.id, chunks[3]!.id);
    await after.close();
  });

  it('frees the acked chunks it keeps for a write that waits for room under the cap', { timeout: 30_000 }, async () => {
    const dir = join(tempDir(), 'spool');
    const small = chunksOf(4, 4, { seed: 1 }).chunks[0]!;
    const large = chunksOf(68, 68, { seed: 2 }).chunks[0]!;
    const maxBytes = 64 * 1024;
    assert.ok(large.entries.length < maxBytes && small.entries.length + large.entries.length > maxBytes, 'the two do not fit together');
    const spool = await Spool.open(options(dir, { maxBytes }));
    await oneAtATime(spool, dir, [small]);
    assert.ok(spool.stats.bytes > 0, 'the acked chunk is still on disk');
    // Without the acked bytes freed, this waits for an ack that never comes.
    await spool.append(large);
    assert.equal((await spool.next())?.id, large.id);
    assert.deepEqual(
      listSegments(dir).map((s) => s.seq),
      [2],
    );
    spool.ack(large.id);
    await spool.close();
    assert.deepEqual(listSegments(dir), []);
  });
});
