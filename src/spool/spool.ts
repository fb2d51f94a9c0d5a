/**
 * The disk spool: every chunk is written here before it is sent and removed only when its ack
 * arrives, so a crash, a kill or an outage loses nothing that was spooled. Chunks are appended to
 * numbered segment files; a segment is deleted once every chunk in it is acked. On open, the
 * segments an earlier run left are scanned (damage set aside and counted) and queued first. What
 * it holds, and each chunk's end (acked, dropped, vanished), is counted in src/spool/holdings.ts.
 *
 * Bodies of queued chunks stay in memory only up to a small cache; the rest are read back from
 * disk when their turn comes, so a long outage fills the disk, not the heap.
 */
import { chmodSync, existsSync } from 'node:fs';
import { makeDirectory } from '../make-directory.js';
import type { ChunkBufferPool } from '../forward/buffer-pool.js';
import type { Chunk } from '../forward/chunk.js';
import { describeSystemError } from '../errors.js';
import { SpoolChunkLostError, SpoolClosedError, SpoolError, type SpoolWriteError } from './errors.js';
import { frameBytes, frameHeadBytes } from './format.js';
import { ChunkQueue, type Entry } from './chunk-queue.js';
import { lockSpool, type FileLock } from './lock.js';
import { Room, type OverflowPolicy } from './room.js';
import { SegmentFiles, type FsyncPolicy } from './segment-files.js';
import { emptySpoolStats, type SpoolStats } from './stats.js';
import { recoverSegments } from './recover.js';
import { readEntries } from './segment-io.js';
import { Holdings, type Vanished } from './holdings.js';

export type { FsyncPolicy } from './segment-files.js';
export type { OverflowPolicy } from './room.js';

export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  overflow: OverflowPolicy;
  fsync: FsyncPolicy;
  /** The Fluentd tag each chunk written is kept with (and sent under, by this run or a later one). */
  tag?: string;
  /** Bodies of queued chunks kept in memory, at most; the rest are re-read from disk. */
  cacheBytes?: number;
  /**
   * Where bodies come from and go back to: a body written and not kept in memory is given back
   * at once, and a body read back from disk is read into it.
   */
  bodies?: ChunkBufferPool;
}

const MAX_SEGMENT_BYTES = 8 * 1024 * 1024;
const DEFAULT_CACHE_BYTES = 2 * 1024 * 1024;

export class Spool {
  readonly stats: SpoolStats = emptySpoolStats();
  /** Records an earlier run left, by the tag they were read under (they are sent under it). */
  readonly recoveredTags = new Map<string, number>();
  private readonly chunks: ChunkQueue;
  private writing: Promise<void> = Promise.resolve();
  private readonly files: SegmentFiles;
  private waiters: (() => void)[] = [];
  private closed = false;
  private readonly room: Room;
  private readonly holdings: Holdings;
  private remadeHandler: (what: 'directory' | 'lock') => void = () => {};

  private constructor(
    private readonly options: SpoolOptions,
    private readonly lock: FileLock,
  ) {
    // Several segments fit under the cap, so that space is freed (or dropped) a segment at a time.
    const segmentBytes = Math.max(4096, Math.min(MAX_SEGMENT_BYTES, Math.floor(options.maxBytes / 8)));
    this.files = new SegmentFiles(options.dir, options.fsync, segmentBytes, {
      onDeleted: (segment) => {
        this.stats.bytes -= segment.bytes;
        this.wake();
      },
      remakeDirectory: () => this.remake(),
    });
    lock.onMissing(() => this.remake());
    this.chunks = new ChunkQueue(options.cacheBytes ?? DEFAULT_CACHE_BYTES);
    this.holdings = new Holdings(this.stats, this.chunks, this.files, options.bodies ?? null, () => this.wake());
    this.room = new Room({
      maxBytes: options.maxBytes,
      overflow: options.overflow,
      used: () => this.stats.bytes,
      dropOldest: () => this.holdings.dropOldest(),
      reclaim: () => this.files.reclaim(),
    });
  }

  /** Creates or opens the directory (0700), takes its lock and queues what an earlier run left. */
  static async open(options: SpoolOptions): Promise<Spool> {
    try {
      makeDirectory(options.dir, 0o700);
      chmodSync(options.dir, 0o700);
    } catch (error) {
      throw new SpoolError(`cannot use the spool ${options.dir}: ${describeSystemError(error)}`, { cause: error });
    }
    const spool = new Spool(options, await lockSpool(options.dir));
    try {
      spool.recover();
    } catch (error) {
      spool.lock.release();
      throw error instanceof SpoolError
        ? error
        : new SpoolError(`cannot read the spool ${options.dir}: ${describeSystemError(error)}`, { cause: error });
    }
    return spool;
  }

  private recover(): void {
    for (const entry of recoverSegments(this.options.dir, this.files, this.stats)) {
      this.holdings.track(entry);
      if (entry.tag !== null) this.recoveredTags.set(entry.tag, (this.recoveredTags.get(entry.tag) ?? 0) + entry.count);
    }
  }

  /**
   * Writes a chunk ahead of sending it. Under `block`, waits while the spool is full; under
   * `drop-oldest`, deletes the oldest segments to make room (their unsent chunks are counted).
   */
  append(chunk: Chunk): Promise<void> {
    const run = this.writing.then(() => this.write(chunk));
    this.writing = run.catch(() => {});
    return run;
  }

  private async write(chunk: Chunk): Promise<void> {
    if (this.options.tag !== undefined) chunk.tag ??= this.options.tag;
    await this.room.reserve(frameBytes(chunk));
    if (this.closed) throw new SpoolClosedError('the spool is closed');
    await this.room.retrying(() => this.writeFrame(chunk));
  }

  private async writeFrame(chunk: Chunk): Promise<void> {
    const { segment, offset } = await this.files.append(chunk);
    this.stats.bytes += frameBytes(chunk);
    const hold = this.chunks.hold(chunk.entries.length);
    if (!hold) this.options.bodies?.recycle(chunk.entries);
    this.holdings.track({
      id: chunk.id,
      count: chunk.count,
      compressed: chunk.compressed,
      tag: chunk.tag ?? null,
      segment,
      entriesOffset: offset + frameHeadBytes(chunk.tag ?? null),
      entriesLength: chunk.entries.length,
      body: hold ? chunk.entries : null,
      state: 'queued',
    });
    await this.files.sealIfFull(segment);
  }

  /**
   * Shutdown: the chunks already read are written even if the spool is full (it may go over its
   * cap by what was read ahead: the chunk waiting for room and the one being built), because the
   * lines in them may not be readable again. A write failing for lack of space is no longer retried.
   */
  finish(): void {
    this.room.stop();
  }

  /**
   * Called when a write finds no room on the disk (ENOSPC, EDQUOT, EFBIG), with the error; the write
   * is retried once a second and after every ack. Called again with null once one succeeds.
   */
  onSpaceChange(handler: (error: SpoolWriteError | null) => void): void {
    this.room.onSpaceChange(handler);
  }

  /**
   * Called when the spool's files were deleted by something other than audit-ship while in use
   * (by hand, or a cleaner of old files under /tmp), and the directory (`directory`) or its lock
   * alone (`lock`) was made again: what is still to come is spooled, what the deleted files held
   * is lost unless its body is still in memory, and counted as vanished when its turn comes (or at
   * close, when it never came).
   */
  onRemade(handler: (what: 'directory' | 'lock') => void): void {
    this.remadeHandler = handler;
  }

  /**
   * Called for each chunk found gone with its segment file, or changed in it (by the segment's path,
   * and which): its records are lost.
   */
  onVanished(handler: (segment: string, why: Vanished) => void): void {
    this.holdings.onVanished(handler);
  }

  /** The directory (if it is gone) and the lock made again; false when another process made the lock first. */
  private remake(): boolean {
    const gone = !existsSync(this.options.dir);
    if (gone) makeDirectory(this.options.dir, 0o700);
    if (!this.lock.restore()) return false;
    this.remadeHandler(gone ? 'directory' : 'lock');
    return true;
  }

  /** Called if another process takes the spool's lock (it judged this one dead): stop at once. */
  onLockLost(handler: (error: SpoolError) => void): void {
    this.lock.onLost(handler);
  }

  /** A write waits: the spool is at its cap (under block) or the disk is full. Reading waits with it. */
  get full(): boolean {
    return this.room.full;
  }

  /** A write waits for room on the disk. */
  get diskFull(): boolean {
    return this.room.diskFull;
  }

  /** The next chunk to send, oldest first; waits while there is none; null once closed. */
  async next(): Promise<Chunk | null> {
    for (;;) {
      for (let entry = this.chunks.take(); entry; entry = this.chunks.take()) {
        const entries = entry.body ?? (await this.readBody(entry));
        entry.body = null;
        if (typeof entries === 'string') {
          if (entry.state === 'sent') this.holdings.vanished(entry, entries); // not dropped (drop-oldest) while it was being read
          continue;
        }
        const { id, count, compressed } = entry;
        return { id, entries, count, compressed, retries: 0, ...(entry.tag === null ? {} : { tag: entry.tag }) };
      }
      if (this.closed) return null;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /**
   * The body of a chunk handed out by next() and not yet acked, read back from its segment: its
   * body in memory was given up once written to a server, and the chunk is to be resent. A segment
   * is never dropped while it holds such a chunk.
   */
  async reread(id: string): Promise<Buffer> {
    const entry = this.chunks.get(id);
    if (this.closed) throw new SpoolClosedError('the spool is closed');
    if (entry?.state !== 'sent') throw new SpoolError(`chunk ${id} is not waiting for its ack in the spool`);
    const body = await this.readBody(entry);
    if (typeof body === 'string') {
      this.holdings.vanished(entry, body);
      throw new SpoolChunkLostError(
        body === 'gone'
          ? `the spool segment ${entry.segment.path} of chunk ${id} is gone`
          : `chunk ${id} in the spool segment ${entry.segment.path} was changed since it was written`,
      );
    }
    return body;
  }

  /**
   * The entry streams of the newest chunks not yet acked, newest first, until they hold `records`
   * records: what a restarted live tail may read again (it drops those RequestIDs as repeats).
   */
  async recentEntries(records: number): Promise<{ entries: Buffer; compressed: boolean }[]> {
    const out: { entries: Buffer; compressed: boolean }[] = [];
    let held = 0;
    for (const entry of this.chunks.newestFirst()) {
      if (held >= records) break;
      // Not from the bodies pool: these are only read here, and given back to no one.
      const body = entry.body ? Buffer.from(entry.body) : await this.readBody(entry, null);
      if (typeof body === 'string') continue;
      out.push({ entries: body, compressed: entry.compressed });
      held += entry.count;
    }
    return out;
  }

  private async readBody(entry: Entry, pool = this.options.bodies ?? null): Promise<Buffer | 'gone' | 'damaged'> {
    if (entry.segment.deleted) return 'gone';
    return readEntries(entry.segment.path, entry.entriesOffset, entry.entriesLength, frameHeadBytes(entry.tag), pool);
  }

  /** The chunk was acked: forget it, and delete its segment once nothing in it is left. */
  ack(id: string): void {
    this.holdings.ack(id);
  }

  private wake(): void {
    this.room.wake();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once every chunk in the spool has been acked (or dropped). */
  async drained(): Promise<void> {
    while (this.stats.chunks > 0 && !this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Flushes and closes; the chunks not acked stay on disk for the next run. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.room.stop();
    this.wake();
    await this.writing;
    try {
      // Gone segments of chunks whose turn never came: kept from memory, or counted lost.
      await this.holdings.settleGone(this.lock.held);
      await this.files.close();
    } finally {
      this.lock.release();
    }
  }
}
