/**
 * What the spool holds, counted: each chunk written (or found at start) is tracked until it is
 * acked, dropped from a full spool (drop-oldest) or found gone with its segment file (vanished).
 * A segment is deleted once nothing in it is left, an ack in a segment that stays is marked in
 * its `.acks` file, and every change wakes whoever waits for room or for chunks.
 */
import type { ChunkBufferPool } from '../forward/buffer-pool.js';
import type { ChunkQueue, Entry } from './chunk-queue.js';
import type { SegmentFiles } from './segment-files.js';
import { markAcked } from './segment-io.js';
import type { SpoolStats } from './stats.js';

export class Holdings {
  private vanishedHandler: (segment: string) => void = () => {};

  constructor(
    private readonly stats: SpoolStats,
    private readonly chunks: ChunkQueue,
    private readonly files: SegmentFiles,
    /** Where the bodies of chunks forgotten before they were sent go back to. */
    private readonly bodies: ChunkBufferPool | null,
    private readonly wake: () => void,
  ) {}

  /** See Spool.onVanished. */
  onVanished(handler: (segment: string) => void): void {
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
   * A chunk handed out by next() whose segment file is gone, deleted by something other than this
   * spool before its ack: its records are lost, and counted. Left waiting, it held the run open for ever.
   */
  vanished(entry: Entry): void {
    entry.segment.sent--;
    entry.state = 'dropped';
    this.stats.vanishedChunks++;
    this.stats.vanishedRecords += entry.count;
    this.release(entry);
    this.vanishedHandler(entry.segment.path);
  }

  private release(entry: Entry): void {
    this.stats.chunks--;
    this.stats.records -= entry.count;
    // Dropped before it was sent: nothing else holds the body.
    const body = this.chunks.remove(entry);
    if (body) this.bodies?.recycle(body);
    const segment = entry.segment;
    if (segment.unacked === 0 && this.files.deletable(segment)) this.files.delete(segment);
    else if (entry.state === 'acked' && !segment.deleted) markAcked(segment.path, entry.id);
    this.wake();
  }
}
