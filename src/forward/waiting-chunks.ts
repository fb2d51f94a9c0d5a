/**
 * The chunks given to the sender and not yet handed to a server, in order: new ones at the back,
 * those a failed server gave back at the front. A chunk whose body was given up once written (to
 * keep memory flat while it waits for its ack) has it read back before it is resent, one at a time.
 */
import type { Chunk } from './chunk.js';
import type { Pending } from './server-link.js';

/**
 * Somewhere other than memory for the bodies of chunks in flight (the spool: spooledBodies in
 * src/ship/forwarder.ts). A chunk waits for its ack for a round trip and the server's write; its
 * body is needed again only if it must be resent.
 */
export interface ChunkBodies {
  /** The chunk's frame has gone to the socket: its body may be given up. */
  release(chunk: Chunk): void;
  /** Puts back the body of a chunk given up, before it is resent. */
  restore(chunk: Chunk): Promise<void>;
}

export class WaitingChunks {
  private items: Pending[] = [];
  /** The chunk at the head whose body is being read back, to be resent. */
  private restoring: Pending | null = null;

  /** @param bodies where written bodies go; without it each is held until its ack */
  constructor(private readonly bodies: ChunkBodies | undefined) {}

  get length(): number {
    return this.items.length;
  }

  /** Every chunk waiting, head first. */
  all(): readonly Pending[] {
    return this.items;
  }

  push(pending: Pending): void {
    this.items.push(pending);
  }

  /** Chunks a failed server gave back go first, in the order they were sent. */
  returned(back: Pending[]): void {
    this.items.unshift(...back);
  }

  /**
   * Takes the head chunk to send it; null when there is none, or when its body must be read back
   * first: that starts (once), and `ready` is called when it is back or has failed (the chunk is
   * then rejected and dropped from the queue: it stays in the spool for the next run).
   */
  take(ready: () => void): Pending | null {
    const head = this.items[0];
    if (!head) return null;
    if (!head.released) return this.items.shift()!;
    if (!this.restoring) this.restore(head, ready);
    return null;
  }

  /** A chunk's frame went to the socket: its body may be given up until it must be resent. */
  written(pending: Pending): void {
    if (!this.bodies || pending.released) return;
    pending.released = true;
    this.bodies.release(pending.chunk);
  }

  /** Empties the queue (close or a fatal error) and returns what was in it. */
  clear(): Pending[] {
    const items = this.items;
    this.items = [];
    this.restoring = null;
    return items;
  }

  private restore(pending: Pending, ready: () => void): void {
    this.restoring = pending;
    this.bodies!.restore(pending.chunk).then(
      () => {
        // Dropped meanwhile by close() or a fatal error, which rejected it.
        if (this.restoring !== pending) return;
        this.restoring = null;
        pending.released = false;
        ready();
      },
      (error: Error) => {
        if (this.restoring !== pending) return;
        this.restoring = null;
        this.items.splice(this.items.indexOf(pending), 1);
        pending.reject(error);
        ready();
      },
    );
  }
}
