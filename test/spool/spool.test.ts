import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ChunkBufferPool } from '../../src/forward/buffer-pool.js';
import { SpoolClosedError, SpoolError } from '../../src/spool/errors.js';
import type { Chunk } from '../../src/forward/chunk.js';
import { listSegments, type SegmentFile } from '../../src/spool/segments.js';
import { Spool } from '../../src/spool/spool.js';
import { tempDir } from '../helpers/cli.js';
import { CLI } from '../helpers/paths.js';
import { chunksOf } from '../helpers/forward.js';
import { lockOfGoneProcess, spoolOptions as options } from '../helpers/spool.js';

/** Overwrites `bytes` at `offset` of the file, in place. */
function writeAt(path: string, bytes: Buffer, offset: number): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, bytes, 0, bytes.length, offset);
  closeSync(fd);
}

/** A spool directory holding `chunks` as an earlier run left them, and its one segment. */
async function spooled(chunks: Chunk[]): Promise<{ dir: string; segment: SegmentFile }> {
  const dir = join(tempDir(), 'spool');
  const spool = await Spool.open(options(dir));
  for (const c of chunks) await spool.append(c);
  await spool.close();
  return { dir, segment: listSegments(dir)[0]! };
}

async function drain(spool: Spool, n: number) {
  const out = [];
  for (let i = 0; i < n; i++) out.push((await spool.next())!);
  return out;
}

describe('Spool', () => {
  it('gives back, after a restart, every chunk not acked: same ids, same bytes, same order', async () => {
    const dir = join(tempDir(), 'spool');
    const { chunks } = chunksOf(30, 5);
    const first = await Spool.open(options(dir));
    for (const c of chunks) await first.append(c);
    const sent = await drain(first, 2);
    first.ack(sent[0]!.id);
    await first.close();

    const second = await Spool.open(options(dir));
    assert.equal(second.stats.recoveredChunks, 5);
    assert.equal(second.stats.recoveredRecords, 25);
    const again = await drain(second, 5);
    assert.deepEqual(
      again.map((c) => c.id),
      chunks.slice(1).map((c) => c.id),
    );
    for (let i = 0; i < 5; i++) assert.ok(again[i]!.entries.equals(chunks[i + 1]!.entries));
    for (const c of again) second.ack(c.id);
    assert.equal(second.stats.records, 0);
    await second.close();
    assert.deepEqual(listSegments(dir), [], 'acked segments are deleted by the time the spool is closed');
  });

  it('gives back each chunk under the tag it was spooled with, whatever the tag of the run that reads it', async () => {
    const dir = join(tempDir(), 'spool');
    const { chunks } = chunksOf(10, 5);
    const first = await Spool.open(options(dir, { tag: 'deploy_audit.staging' }));
    for (const c of chunks) await first.append(c);
    await first.close();
    const second = await Spool.open(options(dir, { tag: 'deploy_audit.prod' }));
    assert.deepEqual([...second.recoveredTags], [['deploy_audit.staging', 10]]);
    const again = await drain(second, 2);
    assert.deepEqual(
      again.map((c) => c.tag),
      ['deploy_audit.staging', 'deploy_audit.staging'],
    );
    for (let i = 0; i < 2; i++) assert.ok(again[i]!.entries.equals(chunks[i]!.entries), 'the tag is not read as entries');
    await second.close();
  });

  it("reads a segment of frames written before tags were kept (magic ASC1), and sends them under the run's tag", async () => {
    const dir = join(tempDir(), 'spool');
    mkdirSync(dir, { recursive: true });
    const { chunks } = chunksOf(6, 3);
    const frames = chunks.map((c) => {
      const prefix = Buffer.alloc(24);
      prefix.writeUInt32BE(c.count, 4);
      Buffer.from(c.id, 'base64').copy(prefix, 8);
      const body = Buffer.concat([prefix, c.entries]);
      const head = Buffer.alloc(12);
      head.write('ASC1', 0, 'latin1');
      head.writeUInt32BE(body.length, 4);
      head.writeUInt32BE(crc32(body), 8);
      return Buffer.concat([head, body]);
    });
    writeFileSync(join(dir, '0000000000000001.seg'), Buffer.concat(frames));
    const spool = await Spool.open(options(dir, { tag: 'deploy_audit.prod' }));
    assert.equal(spool.stats.recoveredRecords, 6);
    assert.equal(spool.stats.damagedRanges, 0);
    const again = await drain(spool, 2);
    assert.deepEqual(
      again.map((c) => [c.id, c.tag]),
      chunks.map((c) => [c.id, undefined]),
    );
    for (let i = 0; i < 2; i++) assert.ok(again[i]!.entries.equals(chunks[i]!.entries));
    await spool.close();
  });

  it('keeps its directory 0700 and its files 0600, and lets one process in at a time', async () => {
    const dir = join(tempDir(), 'spool');
    const spool = await Spool.open(options(dir));
    await spool.append(chunksOf(2, 2).chunks[0]!);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    for (const f of listSegments(dir)) assert.equal(statSync(f.path).mode & 0o777, 0o600);
    await assert.rejects(
      Spool.open(options(dir)),
      (e: unknown) => e instanceof SpoolError && /already in use by this process/.test(e.message),
    );
    const other = spawnSync(process.execPath, [
      '--input-type=module',
      '-e',
      `import { Spool } from ${JSON.stringify(new URL('../../src/spool/spool.js', import.meta.url).href)};
       try { await Spool.open({ dir: ${JSON.stringify(dir)}, maxBytes: 1e9, overflow: 'block', fsync: 'never' }); } catch (e) { process.stdout.write(e.message); }`,
    ]);
    assert.match(
      other.stdout.toString(),
      new RegExp(`in use by another audit-ship \\(pid ${process.pid} on [^)]+\\); give each shipper its own --spool-dir`),
    );
    await spool.close();
    await (await Spool.open(options(dir))).close();
  });

  it('takes over the lock of a process that is gone', async () => {
    const dir = join(tempDir(), 'spool');
    await (await Spool.open(options(dir))).close();
    lockOfGoneProcess(dir);
    const spool = await Spool.open(options(dir));
    assert.equal((JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')) as { pid: number }).pid, process.pid);
    await spool.close();
    const released = JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')) as { pid: number; released?: boolean };
    assert.deepEqual([released.pid, released.released], [process.pid, true], 'released, the file kept for its room');
  });

  it('sets a torn tail aside, counts it, and delivers the chunks before it', async () => {
    const { chunks } = chunksOf(15, 5);
    const { dir, segment } = await spooled(chunks);
    truncateSync(segment.path, segment.size - 100); // a crash in the middle of the last write

    const second = await Spool.open(options(dir));
    assert.equal(second.stats.damagedRanges, 1);
    assert.equal(second.stats.recoveredChunks, 2);
    assert.deepEqual(
      (await drain(second, 2)).map((c) => c.id),
      chunks.slice(0, 2).map((c) => c.id),
    );
    const damaged = readdirSync(join(dir, 'damaged'));
    assert.equal(damaged.length, 1);
    assert.match(damaged[0]!, /\.torn$/);
    await second.close();
    const third = await Spool.open(options(dir)); // reported once, not again on every start
    assert.equal(third.stats.damagedRanges, 0);
    await third.close();
  });

  it('sets aside a chunk with a bad checksum and delivers those on either side of it', async () => {
    const { chunks } = chunksOf(15, 5);
    const { dir, segment } = await spooled(chunks);
    const data = readFileSync(segment.path);
    const middle = Math.floor(data.length / 2);
    data[middle] = data[middle]! ^ 0xff;
    writeFileSync(segment.path, data);

    const second = await Spool.open(options(dir));
    assert.equal(second.stats.damagedRanges, 1);
    assert.deepEqual(
      (await drain(second, 2)).map((c) => c.id),
      [chunks[0]!.id, chunks[2]!.id],
    );
    assert.match(readdirSync(join(dir, 'damaged'))[0]!, /\.checksum$/);
    await second.close();
  });

  it('under block, holds an append until an ack makes room', async () => {
    const dir = join(tempDir(), 'spool');
    const { chunks } = chunksOf(300, 100);
    const size = chunks[0]!.entries.length;
    const spool = await Spool.open(options(dir, { maxBytes: Math.max(64 * 1024, Math.floor(size * 2.5)) }));
    await spool.append(chunks[0]!);
    await spool.append(chunks[1]!);
    let third = false;
    const pending = spool.append(chunks[2]!).then(() => (third = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(third, false, 'the third append waits while the spool is full');
    const [a, b] = await drain(spool, 2);
    spool.ack(a!.id);
    spool.ack(b!.id);
    await pending;
    assert.equal(third, true);
    assert.equal(spool.stats.records, 100);
    await spool.close();
  });

  it('under drop-oldest, deletes the oldest unsent chunks to make room and counts them', async () => {
    const dir = join(tempDir(), 'spool');
    const { chunks } = chunksOf(1000, 100);
    const size = chunks[0]!.entries.length;
    const spool = await Spool.open(options(dir, { maxBytes: Math.max(64 * 1024, size * 4), overflow: 'drop-oldest' }));
    for (const c of chunks) await spool.append(c);
    assert.ok(spool.stats.droppedRecords > 0);
    assert.ok(spool.stats.bytes <= Math.max(64 * 1024, size * 4));
    assert.equal(spool.stats.records + spool.stats.droppedRecords, 1000);
    const left = await drain(spool, spool.stats.chunks);
    assert.deepEqual(
      left.map((c) => c.id),
      chunks.slice(chunks.length - left.length).map((c) => c.id),
    );
    await spool.close();
  });

  it('reads bodies back from disk once the memory cache is full', async () => {
    const dir = join(tempDir(), 'spool');
    const { chunks } = chunksOf(200, 20);
    const spool = await Spool.open(options(dir, { cacheBytes: chunks[0]!.entries.length * 2 }));
    for (const c of chunks) await spool.append(c);
    const out = await drain(spool, chunks.length);
    for (let i = 0; i < chunks.length; i++) assert.ok(out[i]!.entries.equals(chunks[i]!.entries), `chunk ${i}`);
    await spool.close();
  });

  it('leaves out a segment deleted between the listing and its stat, as a running shipper may', async () => {
    const { chunks } = chunksOf(20, 10);
    const { dir, segment } = await spooled(chunks);
    // A dangling link reads as a file that was listed and then vanished.
    symlinkSync(join(dir, 'gone'), join(dir, '0000000000000099.seg'));
    assert.deepEqual(
      listSegments(dir).map((f) => f.path),
      [segment.path],
    );
    const status = spawnSync(process.execPath, [CLI, 'spool', 'status', '--json', '--spool-dir', dir], { encoding: 'utf8' });
    assert.equal(status.status, 0, status.stderr);
    assert.deepEqual(JSON.parse(status.stdout).records, 20);
  });

  // `spool purge` once deleted undelivered records unasked: the one way to lose them on purpose.
  it('spool purge deletes undelivered records only with --yes; an empty spool without it', async () => {
    const { chunks } = chunksOf(30, 10);
    const { dir } = await spooled(chunks);
    const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'spool', ...args, '--spool-dir', dir], { encoding: 'utf8' });
    const refused = run('purge');
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /holds 30 records never delivered: nothing deleted; `audit-ship spool purge --yes` deletes them/);
    assert.equal(JSON.parse(run('status', '--json').stdout).records, 30, 'nothing deleted');
    const purged = run('purge', '--yes', '--json');
    assert.equal(purged.status, 0, purged.stderr);
    assert.deepEqual(JSON.parse(purged.stdout), { segments: 1, records: 30 });
    assert.equal(JSON.parse(run('status', '--json').stdout).records, 0);
    assert.equal(run('purge').status, 0, 'an empty spool needs no --yes');
  });

  it('gives back the memory of a body it does not keep, and reads bodies back into pooled memory', async () => {
    const pool = new ChunkBufferPool(1 << 20, 8);
    const { chunks } = chunksOf(60, 20);
    const pooled = chunks.map((c) => ({ ...c, entries: pool.copy(c.entries, c.entries.length) }));
    const slabs = new Set(pooled.map((c) => c.entries.buffer));
    const spool = await Spool.open(options(join(tempDir(), 'spool'), { cacheBytes: 0, bodies: pool }));
    for (const c of pooled) await spool.append(c);
    const out = await drain(spool, chunks.length);
    for (let i = 0; i < chunks.length; i++) {
      assert.ok(out[i]!.entries.equals(chunks[i]!.entries), `chunk ${i}`);
      assert.ok(slabs.has(out[i]!.entries.buffer), `chunk ${i} was read into memory given back`);
    }
    await spool.close();
  });

  it('reads back the body of a chunk handed out and not yet acked, and of no other', async () => {
    const dir = join(tempDir(), 'spool');
    const { chunks } = chunksOf(20, 5);
    const bytes = chunks.map((c) => Buffer.from(c.entries));
    const spool = await Spool.open(options(dir, { cacheBytes: 0 }));
    for (const c of chunks) await spool.append(c);
    const [first] = await drain(spool, 1);
    assert.ok((await spool.reread(first!.id)).equals(bytes[0]!));
    await assert.rejects(spool.reread(chunks[1]!.id), SpoolError, 'queued, not handed out');
    spool.ack(first!.id);
    await assert.rejects(spool.reread(first!.id), SpoolError, 'acked');
    const [second] = await drain(spool, 1);
    await spool.close();
    await assert.rejects(spool.reread(second!.id), SpoolClosedError);
  });

  it('never gives back a chunk changed on disk since it was written: counted as vanished, from next() and reread()', async () => {
    const dir = join(tempDir(), 'spool');
    const { chunks } = chunksOf(40, 4);
    const spool = await Spool.open(options(dir, { cacheBytes: 0 }));
    const lost: string[] = [];
    spool.onVanished((segment, why) => lost.push(`${why} ${segment}`));
    for (const c of chunks) await spool.append(c);
    const segment = listSegments(dir)[0]!;
    const data = readFileSync(segment.path);
    // Once the first chunk is handed out: the second one's entries (its frame's middle), and the first one's checksum.
    const frames = [...data.toString('latin1').matchAll(/ASC2/g)].map((m) => m.index);
    const [first] = await drain(spool, 1);
    writeAt(segment.path, Buffer.from('XY'), Math.floor((frames[1]! + frames[2]!) / 2));
    writeAt(segment.path, Buffer.from([data[frames[0]! + 8]! ^ 1]), frames[0]! + 8);
    const [next] = await drain(spool, 1);
    assert.equal(next!.id, chunks[2]!.id, 'the changed second chunk is skipped');
    assert.ok(next!.entries.equals(chunks[2]!.entries));
    await assert.rejects(spool.reread(first!.id), /chunk \S+ in the spool segment \S+ was changed since it was written/);
    assert.equal(spool.stats.vanishedChunks, 2);
    assert.equal(spool.stats.vanishedRecords, chunks[0]!.count + chunks[1]!.count);
    assert.deepEqual(lost, [`damaged ${segment.path}`, `damaged ${segment.path}`]);
    assert.equal(spool.stats.records, 40 - chunks[0]!.count - chunks[1]!.count, 'the others still held');
    await spool.close();
  });

  it('fails with a clear error when the directory cannot be made', async () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    await assert.rejects(
      Spool.open(options(join(file, 'spool'))),
      (e: unknown) => e instanceof SpoolError && /cannot use the spool .*a-file\/spool: not a directory/.test(e.message),
    );
    // The spool's own path a file: said as such, not as mkdir's EEXIST.
    await assert.rejects(
      Spool.open(options(file)),
      (e: unknown) => e instanceof SpoolError && /cannot use the spool .*a-file: a file of that name is in the way$/.test(e.message),
    );
  });
});
