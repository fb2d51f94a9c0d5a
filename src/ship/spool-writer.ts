/**
 * batch → spool → commit: writes the chunks the pipeline builds to the spool, one after another in
 * the order read, compressing each while the next is encoded, and moves the checkpoint past a
 * chunk's lines only once the chunk is in the spool. Counts what was spooled and what was not.
 */
import type { ChunkBufferPool } from '../forward/buffer-pool.js';
import { compressChunk, type Chunk, type ChunkBuilder } from '../forward/chunk.js';
import type { InputSource } from '../input/sources.js';
import type { Checkpoint, FileMark } from './checkpoint.js';
import { cutWindow } from './checkpoint-window.js';
import type { AcceptOptions } from './accept.js';
import type { ShipCounts } from './counts.js';

/** Where reading stands: the end of the last line read, in its source (and its mark, for --checkpoint). */
export interface Position {
  source: InputSource;
  end: number;
  line: number;
  mark?: FileMark;
}

/** Where chunks go: the spool, or (in a worker thread, src/ship/worker.ts) the spool of the main thread. */
export interface ChunkSink {
  append(chunk: Chunk): Promise<void>;
}

/** What the pipeline asks of --checkpoint: where to start a file, how far it is spooled, and saves. */
export type CheckpointBook = Pick<Checkpoint, 'resumePoint' | 'record'> & Partial<SavedBook>;

/** How a checkpoint is saved as chunks are spooled: its positions numbered, written on demand. */
export type SavedBook = Pick<Checkpoint, 'changes' | 'request' | 'savedThrough'>;

/**
 * Chunks spooled whose positions may still be unsaved (the checkpoint and kubectl positions are
 * written off the main thread, each save a few round trips to the thread pool): a crash repeats at
 * most these, besides the chunks being written. With 200,000 records in 1 MiB chunks and a
 * checkpoint, waiting for each save took 1.53 to 1.62 s, two 1.22 to 1.25 s, four 1.11 to 1.13 s
 * (no checkpoint: 1.04 to 1.08 s; saving on the main thread: 1.19 to 1.24 s).
 */
export const UNSAVED_CHUNKS = 4;

/**
 * The checkpoint's saves, counted in chunks: once a chunk's positions are recorded, the ones of
 * UNSAVED_CHUNKS chunks before it must be on disk before it is, and a save of the ones of two
 * chunks before it is asked for (one replace every three chunks, begun before it is waited for).
 * The waits once counted positions, and a backfill of small files records one for each file done
 * besides each chunk's: it waited at nearly every chunk for a replace of the whole checkpoint,
 * replaced as often as the disk allowed.
 */
export class ChunkSaves {
  /** The positions recorded as of each of the last chunks, oldest first. */
  private readonly versions: number[] = [];

  constructor(private readonly checkpoint: SavedBook) {}

  /** Resolves once the positions of UNSAVED_CHUNKS chunks before this one are saved; rejects with a save that failed. */
  spooled(): Promise<void> {
    const versions = this.versions;
    versions.push(this.checkpoint.changes());
    if (versions.length >= 3) this.checkpoint.request(versions[versions.length - 3]!);
    return versions.length > UNSAVED_CHUNKS ? this.checkpoint.savedThrough(versions.shift()!) : Promise.resolve();
  }
}

/** The saves of a checkpoint that is saved here (a worker's positions are saved by the main thread's). */
export function chunkSaves(checkpoint: CheckpointBook | null | undefined): ChunkSaves | null {
  const { changes, request, savedThrough } = checkpoint ?? {};
  return checkpoint && changes && request && savedThrough ? new ChunkSaves(checkpoint as SavedBook) : null;
}

export interface SpoolWriterOptions extends Pick<AcceptOptions, 'since' | 'until'> {
  /** gzip each chunk at this level, or not at all (null). */
  gzipLevel: number | null;
  bodies: ChunkBufferPool | null;
  checkpoint: CheckpointBook | null;
  flushIntervalMs: number;
}

export class SpoolWriter {
  /** The last spool write: chunks are written one after another, in the order read. */
  private writing: Promise<void> = Promise.resolve();
  /** The spool write before the last one: with --compress, rotate() waits for this one. */
  private writingBefore: Promise<void> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | null = null;
  /** When an idle position was last moved (monotonic ms; never, at first), and the timer that moves the next one. */
  private idlePassedAt = -Infinity;
  private idleTimer: NodeJS.Timeout | null = null;
  /** The first write that failed; every later one fails too. */
  failure: Error | null = null;
  /** Inputs read to their end whose last lines are in the chunk being built: told once it is spooled. */
  private endedInChunk: (() => void)[] = [];
  private readonly checkpointSaves: ChunkSaves | null;

  constructor(
    private readonly spool: ChunkSink,
    private readonly builder: ChunkBuilder,
    private readonly counts: Pick<ShipCounts, 'chunksSpooled' | 'recordsSpooled' | 'recordsNotSpooled'>,
    private readonly options: SpoolWriterOptions,
    /** Where reading stands when a chunk is closed: its checkpoint position. */
    private readonly position: () => Position | null,
  ) {
    this.checkpointSaves = chunkSaves(options.checkpoint);
  }

  /** A record was added: a live tail's chunk is written once it is older than the flush interval. */
  added(): void {
    // The timer's closure lives in a method of its own: here, V8 would allocate the context it
    // captures on every call, taken or not (a tenth of what a backfill allocated).
    if (this.flushTimer === null) this.startFlushTimer();
  }

  private startFlushTimer(): void {
    this.flushTimer = setTimeout(() => void this.flush().catch((e: Error) => (this.failure ??= e)), this.options.flushIntervalMs);
  }

  /**
   * A full chunk: waits while the chunk before it is still being written, or, with --compress,
   * while the two before it are. Writes go to disk one after another, so a second chunk waiting
   * for its turn did not make the spool faster, even with fsyncs made to take 0 to 30 ms, and it
   * held a 1 MiB body more. A compressed chunk is different: it is compressed (off the main
   * thread) while the one before it is written, which a second chunk in turn allows.
   */
  async rotate(): Promise<void> {
    await (this.options.gzipLevel === null ? this.writing : this.writingBefore);
    void this.flush().catch(() => {});
  }

  /**
   * Lines were read that added nothing to the chunk being built (application logs, blank or
   * invalid lines): for an input that keeps positions of its own (kubectl), once the writes before
   * them are done, its position passes them too, at most once per flush interval. Otherwise a pod
   * that writes no audit record for hours would hold its position, and what it read, back.
   */
  passIdle(): void {
    if (this.builder.count > 0 || this.failure || !this.position()?.source.committed) return;
    const wait = this.idlePassedAt + this.options.flushIntervalMs - performance.now();
    if (wait <= 0) return this.commitIdle();
    this.idleTimer ??= setTimeout(() => {
      this.idleTimer = null;
      this.passIdle();
    }, wait);
  }

  /** Moves the position past lines that left nothing to write, after the writes before them. */
  private commitIdle(): void {
    const position = this.position();
    if (this.failure || !position?.source.committed) return;
    this.idlePassedAt = performance.now();
    this.writing = this.writing.then(() => this.commit(position));
    this.writing.catch((e: Error) => (this.failure ??= e));
  }

  /**
   * An input was read to its end: `spooled` runs once its last lines are in the spool, after the
   * chunk being built (which holds them) is written, or after the writes so far if that chunk is
   * empty. The next input's lines go on into the same chunk: closing a chunk at the end of each
   * file made a backfill of many small files wait for a write and an fsync per file, and send
   * as many part-filled chunks: 400 files of 500 records went at 93k records/s, and go at 148k.
   */
  whenSpooled(spooled: () => void): void {
    if (this.builder.count > 0) {
      this.endedInChunk.push(spooled);
      return;
    }
    this.writing = this.writing.then(spooled);
    this.writing.catch((e: Error) => (this.failure ??= e));
  }

  /** Stops the flush timer (the run is over). */
  stop(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** Writes the chunk being built to the spool, then moves the checkpoint past its lines; resolves when every write so far is done. */
  flush(): Promise<void> {
    this.stop();
    const chunk = this.builder.take();
    if (!chunk) {
      this.commitIdle();
      return this.writing;
    }
    // whenSpooled() puts an input here only while the chunk holds records: this chunk has its last lines.
    const ended = this.endedInChunk;
    if (ended.length > 0) this.endedInChunk = [];
    const position = this.position();
    const level = this.options.gzipLevel;
    const ready = level === null ? Promise.resolve(chunk) : this.compressed(chunk, level);
    ready.catch(() => {}); // awaited in turn below; a failure surfaces there
    this.writingBefore = this.writing;
    // After a failed write, every later chunk fails too (the chain stays rejected): none is
    // written past the gap, and the checkpoint never moves past it.
    let spooled = false;
    this.writing = this.writing.then(async () => {
      await this.spool.append(await ready);
      spooled = true;
      this.counts.chunksSpooled++;
      this.counts.recordsSpooled += chunk.count;
      this.commit(position);
      for (const spooled of ended) spooled();
      await this.saved(position);
    });
    this.writing.catch((e: Error) => {
      this.failure ??= e;
      if (!spooled) this.counts.recordsNotSpooled += chunk.count;
    });
    return this.writing;
  }

  private commit(position: Position | null): void {
    position?.source.committed?.(position.end);
    const { checkpoint } = this.options;
    if (!checkpoint || !position?.source.path) return;
    const { source } = position;
    const progress = { offset: position.end, line: position.line, size: source.size ?? 0, done: false, ...cutWindow(source, this.options) };
    checkpoint.record(source.path!, progress, position.mark);
  }

  /** Resolves once at most UNSAVED_CHUNKS chunks' positions moved by commit() are unsaved; rejects with a save that failed. */
  private async saved(position: Position | null): Promise<void> {
    await position?.source.saved?.(UNSAVED_CHUNKS);
    if (position?.source.path) await this.checkpointSaves?.spooled();
  }

  /** Compresses a chunk while the next one is encoded, and gives back the raw body's memory. */
  private async compressed(chunk: Chunk, level: number): Promise<Chunk> {
    const packed = await compressChunk(chunk, level);
    this.options.bodies?.recycle(chunk.entries);
    return packed;
  }
}
