/**
 * spool → forward → ack → commit. Takes chunks from the spool, oldest first (what an earlier run
 * left goes before anything new), hands them to the sender, and removes each from the spool only
 * when its ack arrives. At most the sender's capacity (a window for every server taking chunks)
 * is held by the sender at once, the next is taken only once the sender has written the ones
 * before it, and none are handed over while it is not connected: during an outage or behind a
 * slow server the chunks wait on disk, where a full spool under drop-oldest can still drop the
 * oldest of them, not in memory.
 */
import type { ChunkBufferPool } from '../forward/buffer-pool.js';
import type { Chunk } from '../forward/chunk.js';
import type { Sender } from '../forward/sender.js';
import type { ChunkBodies } from '../forward/waiting-chunks.js';
import { SpoolChunkLostError } from '../spool/errors.js';
import type { Spool } from '../spool/spool.js';
import type { ShipCounts } from './counts.js';

/** What a chunk's entries are while its body is given up: not from the pool, so never recycled. */
const RELEASED = Buffer.alloc(0);

/**
 * Bodies of chunks in flight go back to the pool once written to a server, and are read back from
 * the spool for a resend. Memory then holds the chunks being built, spooled and written, not a
 * window of them waiting for their acks: against a local sink that took a backfill's chunk memory
 * from 6–7 to 5 MB, and against a distant server whose acks take a round trip it keeps the window
 * (`--window` × `--chunk-bytes`) out of memory.
 */
export function spooledBodies(spool: Spool, pool: ChunkBufferPool): ChunkBodies {
  return {
    release(chunk) {
      const body = chunk.entries;
      chunk.entries = RELEASED;
      pool.recycle(body);
    },
    async restore(chunk) {
      chunk.entries = await spool.reread(chunk.id);
    },
  };
}

export type ForwardCounts = Pick<ShipCounts, 'chunksSent' | 'recordsSent' | 'bytesSent' | 'chunksAcked' | 'recordsAcked' | 'bytesAcked'>;

export class Forwarder {
  private handed = 0;
  private room: (() => void) | null = null;
  private failure: Error | null = null;
  private stopped = false;
  private signalStop: () => void = () => {};
  private readonly stopping = new Promise<void>((resolve) => (this.signalStop = resolve));
  private readonly done: Promise<void>;
  private signalFailure: () => void = () => {};
  private readonly failed = new Promise<void>((resolve) => (this.signalFailure = resolve));

  constructor(
    private readonly spool: Spool,
    private readonly sender: Sender,
    private readonly counts: ForwardCounts,
    /** Given each chunk once it is acked, when nothing will read its body again. */
    private readonly onAcked: (chunk: Chunk) => void = () => {},
  ) {
    // A server joining the pool makes room for more chunks in flight.
    sender.on('server', () => this.wake());
    sender.on('dispatched', () => this.wake());
    this.done = this.loop();
  }

  /** Resolves once forwarding has ended: after the spool closes, or at once on a fatal error. */
  finished(): Promise<void> {
    return Promise.race([this.done, this.failed]);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      // A chunk is taken from the spool only once the sender has written the ones before it: one
      // waiting for a blocked socket or a full window waits in the spool, not in memory.
      while ((this.handed >= this.sender.capacity || this.sender.queued > 0) && !this.stopped) {
        await new Promise<void>((resolve) => (this.room = resolve));
      }
      if (this.stopped) break;
      let chunk: Chunk | null;
      try {
        if (this.sender.state !== 'connected') await Promise.race([this.sender.start(), this.stopping]);
        if (this.stopped) break;
        chunk = await this.spool.next();
      } catch (error) {
        this.fail(error as Error);
        break;
      }
      if (!chunk) break;
      this.hand(chunk);
    }
  }

  private hand(chunk: Chunk): void {
    this.handed++;
    this.counts.chunksSent++;
    this.counts.recordsSent += chunk.count;
    // Read now: the body may be given up once written (spooledBodies).
    const bytes = chunk.entries.length;
    this.counts.bytesSent += bytes;
    this.sender.send(chunk).then(
      () => {
        this.spool.ack(chunk.id);
        this.counts.chunksAcked++;
        this.counts.recordsAcked += chunk.count;
        this.counts.bytesAcked += bytes;
        this.onAcked(chunk);
        this.release();
      },
      (error: Error) => {
        // Gone from the spool (its file deleted by something else): counted there as lost, and
        // the other chunks go on. Otherwise the chunk stays in the spool, and a fatal error or
        // shutdown ends forwarding.
        if (!(error instanceof SpoolChunkLostError)) this.fail(error);
        this.release();
      },
    );
  }

  private release(): void {
    this.handed--;
    this.wake();
  }

  private wake(): void {
    const room = this.room;
    this.room = null;
    room?.();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.signalFailure();
    this.stop();
  }

  stop(): void {
    this.stopped = true;
    this.signalStop();
    const room = this.room;
    this.room = null;
    room?.();
  }
}
