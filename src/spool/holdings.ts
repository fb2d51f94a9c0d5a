/**
 * What the spool holds, counted: each chunk written (or found at start) is tracked until it is
 * acked, dropped from a full spool (drop-oldest) or found gone with its segment file (vanished;
 * at close, written again first if its body is still in memory).
 * A segment is deleted once nothing in it is left, an ack in a segment that stays is marked in
 * its `.acks` file, and every change wakes whoever waits for room or for chunks.
 */
import { existsSync } from 'node:fs';
import type { ChunkBufferPool } from '../forward/buffer-pool.js';
import type { Chunk } from '../forward/chunk.js';
import type { ChunkQueue, Entry } from './chunk-queue.js';
import { frameBytes, frameHeadBytes } from './format.js';
import type { Segment, SegmentFiles } from './segment-files.js';
import { markAcked } from './segment-io.js';
import type { SpoolStats } from './stats.js';

/** How a chunk left the spool under the run: its segment file deleted, or its frame changed. */
export type Vanished = 'gone' | 'damaged';

export class Holdings {
  private vanishedHandler: (segment: string, why: Vanished) => void = () => {};

  constructor(
    private readonly stats: SpoolStats,
    private readonly chunks: ChunkQueue,
    private readonly files: SegmentFiles,
    /** Where the bodies of chunks forgotten before they were sent go back to. */
    private readonly bodies: ChunkBufferPool | null,
    private readonly wake: () => void,
  ) {}

  /** See Spool.onVanished. */
  onVanished(handler: (segment: string, why: Vanished) => void): void {
    this.vanishedHandler = handler;
  }

  track(entry: Entry): void {
    this.chunks.add(entry);
    this.stats.chunks++;
    this.stats.records += entry.count;
    this.wake();
  }

  /** The chunk was acked: forget it, and delete its segment once nothing in it is left. */
  ack(id: string): void {
    const entry = this.chunks.get(id);
    if (!entry || entry.state === 'acked' || entry.state === 'dropped') return;
    if (entry.state === 'sent') entry.segment.sent--;
    entry.state = 'acked';
    this.release(entry);
  }

  /**
   * Deletes the oldest segment none of whose chunks the sender holds (those may still be acked and
   * must stay accounted for); false when there is none, and the append then waits as under block.
   */
  dropOldest(): boolean {
    const victim = this.files.list.find((s) => !s.deleted && s.sent === 0);
    if (!victim) return false;
    for (const entry of this.chunks.queuedIn(victim)) {
      entry.state = 'dropped';
      this.stats.droppedChunks++;
      this.stats.droppedRecords += entry.count;
      this.release(entry);
    }
    if (!victim.deleted) this.files.delete(victim);
    return true;
  }

  /**
   * A chunk whose segment file is gone, deleted by something other than this spool before its ack
   * (found when it was to be sent, or at close), or whose frame was found changed when read back
   * (`damaged`): its records are lost, and counted. Left waiting, it held the run open for ever, or
   * was said at the end to stay in the spool; sent, it would have been bytes no one wrote.
   */
  vanished(entry: Entry, why: Vanished = 'gone'): void {
    if (entry.state === 'sent') entry.segment.sent--;
    entry.state = 'dropped';
    this.stats.vanishedChunks++;
    this.stats.vanishedRecords += entry.count;
    this.release(entry);
    this.vanishedHandler(entry.segment.path, why);
  }

  /**
   * At close, the chunks whose segment file is gone (deleted by something other than this spool)
   * and whose turn never came: one whose body is still in memory is written again into a new
   * segment (`write`: the spool is still this process's), for the next run; any other is lost, and
   * counted. Left as they were, the end counted them as staying in the spool, where the next run
   * would never find them: a loss said as a delay.
   */
  async settleGone(write: boolean): Promise<void> {
    const gone = new Set(this.files.list.filter((segment) => !existsSync(segment.path)));
    if (gone.size === 0) return;
    for (const entry of this.chunks.oldestFirst()) {
      if (!gone.has(entry.segment)) continue;
      const kept = write && entry.state === 'queued' && entry.body !== null && (await this.writeAgain(entry, entry.body));
      if (!kept) this.vanished(entry);
    }
  }

  /** Writes a queued chunk's frame again, from its body in memory; false when the write failed. */
  private async writeAgain(entry: Entry, entries: Buffer): Promise<boolean> {
    const { id, count, compressed, tag } = entry;
    const chunk: Chunk = { id, entries, count, compressed, retries: 0, ...(tag === null ? {} : { tag }) };
    let written: { segment: Segment; offset: number };
    try {
      written = await this.files.append(chunk);
    } catch {
      return false;
    }
    const old = entry.segment;
    this.stats.bytes += frameBytes(chunk);
    this.chunks.move(entry, written.segment, written.offset + frameHeadBytes(tag));
    this.files.deleteIfDone(old);
    return true;
  }

  private release(entry: Entry): void {
    this.stats.chunks--;
    this.stats.records -= entry.count;
    // Dropped before it was sent: nothing else holds the body.
    const body = this.chunks.remove(entry);
    if (body) this.bodies?.recycle(body);
    const segment = entry.segment;
    if (!this.files.deleteIfDone(segment) && entry.state === 'acked' && !segment.deleted) markAcked(segment.path, entry.id);
    this.wake();
  }
}
