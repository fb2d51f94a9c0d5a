/**
 * The spool's chunks not yet acked: where each lies on disk, its state, the order they are sent in
 * (oldest first), and which bodies are still held in memory, up to a byte budget. What is on disk
 * and how many bytes it takes is the spool's; this is the bookkeeping between its writes and acks.
 */
import type { Segment } from './segment-files.js';

export interface Entry {
  id: string;
  count: number;
  compressed: boolean;
  /** The Fluentd tag it was spooled under (null: a frame without one, sent under the run's). */
  tag: string | null;
  segment: Segment;
  entriesOffset: number;
  entriesLength: number;
  /** The body, while it is held in memory; otherwise it is read back from the segment. */
  body: Buffer | null;
  state: 'queued' | 'sent' | 'acked' | 'dropped';
}

export class ChunkQueue {
  private readonly entries = new Map<string, Entry>();
  private order: Entry[] = [];
  private head = 0;
  private heldBytes = 0;

  constructor(private readonly holdBytes: number) {}

  /** Whether a body of `bytes` fits in the memory budget; if it does, it is counted as held. */
  hold(bytes: number): boolean {
    if (this.heldBytes + bytes > this.holdBytes) return false;
    this.heldBytes += bytes;
    return true;
  }

  /** A chunk written (or found on disk at start), queued last. */
  add(entry: Entry): void {
    entry.segment.unacked++;
    this.entries.set(entry.id, entry);
    this.order.push(entry);
  }

  get(id: string): Entry | undefined {
    return this.entries.get(id);
  }

  /** The oldest queued chunk, now marked sent (its body, if held, no longer counted); undefined when none. */
  take(): Entry | undefined {
    while (this.head < this.order.length) {
      const entry = this.order[this.head++]!;
      // Forget the taken part of the array now and then, so that it does not grow for ever.
      if (this.head > 1024 && this.head * 2 > this.order.length) {
        this.order = this.order.slice(this.head);
        this.head = 0;
      }
      if (entry.state !== 'queued') continue;
      entry.state = 'sent';
      entry.segment.sent++;
      if (entry.body) this.heldBytes -= entry.body.length;
      return entry;
    }
    return undefined;
  }

  /** The queued chunks of `segment` (to drop them with it). */
  queuedIn(segment: Segment): Entry[] {
    return [...this.entries.values()].filter((e) => e.segment === segment && e.state === 'queued');
  }

  /** Every chunk not yet acked or dropped, oldest first. */
  oldestFirst(): Entry[] {
    return [...this.entries.values()].filter((e) => e.state === 'queued' || e.state === 'sent');
  }

  /** The same, newest first. */
  newestFirst(): Entry[] {
    return this.oldestFirst().reverse();
  }

  /** The entry now lies in `segment`, at `entriesOffset` (written again there). */
  move(entry: Entry, segment: Segment, entriesOffset: number): void {
    entry.segment.unacked--;
    segment.unacked++;
    entry.segment = segment;
    entry.entriesOffset = entriesOffset;
  }

  /**
   * Forgets an acked or dropped chunk; its segment holds one chunk fewer. Returns its body if it was
   * still held (a chunk dropped before it was sent), for the caller to give back.
   */
  remove(entry: Entry): Buffer | null {
    this.entries.delete(entry.id);
    entry.segment.unacked--;
    const body = entry.body;
    entry.body = null;
    if (body) this.heldBytes -= body.length;
    return body;
  }
}
