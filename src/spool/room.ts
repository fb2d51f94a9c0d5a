/**
 * When the spool may write, apart from what it writes: a write waits while the spool is at its cap
 * (under `block`; `drop-oldest` deletes the oldest segment instead), and a write that finds no room
 * on the disk is retried once a second and after every ack, never dropped. Reading stops while a
 * write waits (`full`), so the input applies backpressure instead of filling the heap.
 */
import { isSpaceError } from '../durable.js';
import { SpoolWriteError } from './errors.js';

export type OverflowPolicy = 'block' | 'drop-oldest';

const SPACE_RETRY_MS = 1000;

export interface RoomOptions {
  maxBytes: number;
  overflow: OverflowPolicy;
  /** The bytes the spool's segments hold now. */
  used: () => number;
  /** Deletes the oldest segment the sender holds nothing of; false when there is none. */
  dropOldest: () => boolean;
  /** Frees the bytes of acked chunks kept in the segment taking new frames; false when there are none. */
  reclaim: () => boolean;
}

export class Room {
  private waiters: (() => void)[] = [];
  /** finish() or close() was called: no more waiting for room or for space. */
  private stopped = false;
  /** The write failure that has the spool waiting for disk space, while it waits. */
  private outOfSpace: SpoolWriteError | null = null;
  private spaceHandler: (error: SpoolWriteError | null) => void = () => {};
  private waitingForRoom = false;

  constructor(private readonly options: RoomOptions) {}

  /** A write waits: the spool is at its cap (under block) or the disk is full. Reading waits with it. */
  get full(): boolean {
    return this.waitingForRoom || this.outOfSpace !== null;
  }

  /** Until `size` more bytes fit under the cap (an empty spool takes any chunk), or stop(). */
  async reserve(size: number): Promise<void> {
    const { maxBytes, overflow, used, dropOldest, reclaim } = this.options;
    while (!this.stopped && used() > 0 && used() + size > maxBytes) {
      // Acked chunks first: no ack would ever free them.
      if (reclaim()) continue;
      if (overflow === 'drop-oldest' && dropOldest()) continue;
      this.waitingForRoom = true;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      this.waitingForRoom = false;
    }
  }

  /**
   * Runs `write` until it succeeds, waiting out a full disk (ENOSPC, EDQUOT, EFBIG) between tries;
   * any other failure, or one after stop(), is thrown.
   */
  async retrying(write: () => Promise<void>): Promise<void> {
    for (let fresh = false; ;) {
      try {
        await write();
        break;
      } catch (error) {
        if (!(error instanceof SpoolWriteError) || !isSpaceError(error.cause) || this.stopped) throw error;
        // Past the file size limit (`ulimit -f`): a new segment may hold the chunk; try one at once.
        if (error.errno === 'EFBIG' && !fresh) {
          fresh = true;
          continue;
        }
        // No room on the disk now: acks (or someone else) may free some; wait and write it again.
        fresh = false;
        this.noSpace(error);
        await this.waitForSpace();
      }
    }
    if (this.outOfSpace) {
      this.outOfSpace = null;
      this.spaceHandler(null);
    }
  }

  /** A write waits for disk room (not for acks under the cap). */
  get diskFull(): boolean {
    return this.outOfSpace !== null;
  }

  /** See Spool.onSpaceChange. */
  onSpaceChange(handler: (error: SpoolWriteError | null) => void): void {
    this.spaceHandler = handler;
  }

  /** Something was freed (an ack, a deleted segment): a waiting write looks again. */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Shutdown or close: waiting writes go ahead (or fail), and none waits again. */
  stop(): void {
    this.stopped = true;
    this.wake();
  }

  private noSpace(error: SpoolWriteError): void {
    if (this.outOfSpace) return;
    this.outOfSpace = error;
    this.spaceHandler(error);
  }

  /** Until something is freed, stop() is called, or a second passes. */
  private async waitForSpace(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, SPACE_RETRY_MS);
      this.waiters.push(resolve);
    });
    clearTimeout(timer);
  }
}
