/**
 * The spool's segment files: which exist, which one takes new frames, and their lifecycle (create,
 * append, seal, abandon after a failed write, delete off the main thread, fsync once a second).
 * The Spool decides what goes in and when a segment may go; this module keeps the files and their
 * offsets right.
 */
import { existsSync, fstatSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Chunk } from '../forward/chunk.js';
import { SpoolWriteError, type SpoolError } from './errors.js';
import { frameBytes } from './format.js';
import { segmentName } from './segments.js';
import { appendFrame, createSegmentFile, sealSegmentFile, unlinkSegmentFiles } from './segment-io.js';

/** always: fsync each chunk before it is sent; interval: once a second; never: leave it to the OS. */
export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface Segment {
  seq: number;
  path: string;
  handle: FileHandle | null;
  /** Bytes of whole frames: where the next frame goes. */
  bytes: number;
  unacked: number;
  /** Chunks of this segment held by the sender: their segment must stay until they are acked. */
  sent: number;
  deleted: boolean;
}

export interface SegmentHooks {
  /** Told of each segment deleted, once its bytes no longer count. */
  onDeleted: (segment: Segment) => void;
  /** The directory was found deleted: make it again (true), or not (false: the write fails). */
  remakeDirectory: () => boolean;
}

export class SegmentFiles {
  /** Every segment not deleted, oldest first. */
  readonly list: Segment[] = [];
  private active: Segment | null = null;
  private nextSeq = 1;
  private dirty = false;
  /** A frame is being appended to the active segment: an ack emptying it must not delete it under the write. */
  private appending = false;
  /** Segments being deleted; a failure is raised by the next append or by close. */
  private readonly removals = new Set<Promise<void>>();
  private removalFailure: SpoolError | null = null;
  private readonly fsyncTimer: NodeJS.Timeout | null;

  constructor(
    private readonly dir: string,
    private readonly fsync: FsyncPolicy,
    /** A segment takes no more frames once it holds this many bytes. */
    private readonly segmentBytes: number,
    private readonly hooks: SegmentHooks,
  ) {
    this.fsyncTimer = fsync === 'interval' ? setInterval(() => void this.syncActive(), 1000).unref() : null;
  }

  /** A segment an earlier run left, found on open; numbering goes on after it. */
  adopt(seq: number, path: string, bytes: number): Segment {
    const segment: Segment = { seq, path, handle: null, bytes, unacked: 0, sent: 0, deleted: false };
    this.list.push(segment);
    this.nextSeq = Math.max(this.nextSeq, seq + 1);
    return segment;
  }

  /** Numbering goes on after a segment found and removed on open. */
  skip(seq: number): void {
    this.nextSeq = Math.max(this.nextSeq, seq + 1);
  }

  /**
   * Appends a chunk's frame to the active segment (a new one if there is none); returns the segment
   * and the frame's offset. A failed write abandons the segment, so no later frame lands at an offset
   * it moved; offsets come from what was written in full.
   */
  async append(chunk: Chunk): Promise<{ segment: Segment; offset: number }> {
    if (this.removalFailure) throw this.removalFailure;
    for (;;) {
      const segment = await this.current();
      const offset = segment.bytes;
      this.appending = true;
      try {
        await appendFrame(segment.handle!, segment.path, offset, chunk, this.fsync === 'always');
        this.dirty = this.fsync !== 'always';
      } catch (error) {
        await this.abandon(segment);
        throw error;
      } finally {
        this.appending = false;
      }
      // Deleted while in use (by hand, or with the directory): a frame in it could never be read
      // back, and a crash would lose it. It goes into a new segment instead.
      if (fstatSync(segment.handle!.fd).nlink === 0) {
        await this.abandon(segment);
        continue;
      }
      segment.bytes += frameBytes(chunk);
      return { segment, offset };
    }
  }

  /** Closes the segment to new frames once it is full. */
  async sealIfFull(segment: Segment): Promise<void> {
    if (segment.bytes >= this.segmentBytes) await this.seal(segment);
  }

  /**
   * Deletes the segment if nothing in it is left to ack; false when it stays. The one taking new
   * frames stays (its acks are marked in `.acks`) and goes once it is full: a live tail's chunk is
   * acked before the next one is written, and deleting its segment then made every chunk a new
   * file, two directory fsyncs and two unlinks (following 20 pods, a tenth of the shipper's CPU).
   */
  deleteIfDone(segment: Segment): boolean {
    if (segment.unacked > 0 || segment.deleted || segment === this.active) return false;
    this.delete(segment);
    return true;
  }

  /**
   * Deletes the segment taking new frames when every chunk in it is acked, freeing the bytes it
   * holds for a write that waits for room under the cap; false when there is no such segment.
   */
  reclaim(): boolean {
    const active = this.active;
    if (!active || this.appending || active.unacked > 0 || active.bytes === 0) return false;
    this.delete(active);
    return true;
  }

  /** Deletes a segment's files off the main thread: freeing megabytes of blocks took milliseconds. */
  delete(segment: Segment): void {
    segment.deleted = true;
    if (this.active === segment) this.active = null;
    void segment.handle?.close().catch(() => {});
    segment.handle = null;
    this.list.splice(this.list.indexOf(segment), 1);
    const removal: Promise<void> = unlinkSegmentFiles(segment.path)
      .catch((error: SpoolError) => void (this.removalFailure ??= error))
      .finally(() => this.removals.delete(removal));
    this.removals.add(removal);
    this.hooks.onDeleted(segment);
  }

  /** Seals the active segment, waits for deletions, and raises a deletion that failed. */
  async close(): Promise<void> {
    if (this.fsyncTimer) clearInterval(this.fsyncTimer);
    const last = this.active;
    if (last) {
      await this.seal(last);
      // Every chunk in it acked: nothing for the next run to find.
      this.deleteIfDone(last);
    }
    await Promise.all(this.removals);
    if (this.removalFailure) throw this.removalFailure;
  }

  private async current(): Promise<Segment> {
    if (this.active) return this.active;
    const seq = this.nextSeq++;
    const path = join(this.dir, segmentName(seq));
    let handle: FileHandle;
    try {
      handle = await createSegmentFile(path, this.dir);
    } catch (error) {
      if (!(error instanceof SpoolWriteError && error.errno === 'ENOENT' && !existsSync(this.dir) && this.hooks.remakeDirectory()))
        throw error;
      handle = await createSegmentFile(path, this.dir);
    }
    this.active = { seq, path, handle, bytes: 0, unacked: 0, sent: 0, deleted: false };
    this.list.push(this.active);
    return this.active;
  }

  private async seal(segment: Segment): Promise<void> {
    if (this.active === segment) this.active = null;
    const handle = segment.handle;
    segment.handle = null;
    if (handle) await sealSegmentFile(handle, this.fsync !== 'never');
  }

  /**
   * A write into this segment failed part-way: it takes no more frames (its file position may be
   * past its last whole frame), and it goes as soon as nothing in it is left to ack.
   */
  private async abandon(segment: Segment): Promise<void> {
    await this.seal(segment);
    this.deleteIfDone(segment);
  }

  private async syncActive(): Promise<void> {
    if (!this.dirty || !this.active?.handle) return;
    this.dirty = false;
    await this.active.handle.datasync().catch(() => {});
  }
}
