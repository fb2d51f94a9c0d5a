/**
 * What the way a server ends its connections tells about it, kept across one link's connections:
 * a server that closes each connection once it has acked (deny_keepalive), and one that ends the
 * connection on a message too big for it (a size limit). Each is said in the lost connection's
 * message; the first also makes the link send one chunk a connection.
 */
import type { Chunk } from './chunk.js';
import { ConnectionLostError, type ForwardError } from './errors.js';

/** A connection the server closed this soon after its first ack is closed after each ack. */
const CLOSED_AFTER_ACK_MS = 1000;

/**
 * Frames from this size on may meet a server's message size limit (Fluent Bit's forward input
 * reads messages into a buffer of Buffer_Chunk_Size, 1 MB unless set, up to Buffer_Max_Size);
 * a smaller one lost again and again is not said to be too big.
 */
const LIMITED_MESSAGE_BYTES = 64 * 1024;
/** Ends with the same chunk in flight before it is said to be too big. */
const LIMIT_SEEN_AFTER = 3;

/** A chunk in flight, as far as its ends go. */
export interface InFlight {
  chunk: Chunk;
  sentAt: number;
  /** Bytes of its last frame: what the server compares with a size limit. */
  frameBytes?: number;
  /** Connections the server ended while it was in flight, with no ack since it was sent. */
  lost?: number;
}

/**
 * Why a server may end the connection each time a chunk is sent: it takes no message that big
 * (Fluent Bit's forward input closes the connection on one over its Buffer_Max_Size).
 */
function endedWithChunkHint(times: number, frameBytes: number | undefined, chunkId: string): string {
  return (
    `; does the server take no message that big? chunk ${chunkId} of ${frameBytes} bytes was in flight at each of the ` +
    `${times} connections it ended, as Fluent Bit's forward input ends one on a message over its Buffer_Max_Size ` +
    '(6,144,000 bytes unless set): raise that limit (a chunk keeps its size in the spool), and lower --chunk-bytes ' +
    'for the chunks to come'
  );
}

export class ConnectionEnds {
  /** Connections in a row the server closed soon after their first ack. */
  private closedAfterAck = 0;
  /** When the current connection's first ack came (monotonic ms, as every duration here); null until it does. */
  private firstAckAt: number | null = null;
  /** When the last ack on the current connection came. */
  private lastAckAt: number | null = null;
  private oneChunkAtATime = false;

  /**
   * Seen twice, a server that closes after each ack: one chunk a connection from then on, each
   * connection ended after its ack (`trusted`), and taking no chunk once that ack came.
   */
  get oneAtATime(): boolean {
    return this.oneChunkAtATime;
  }

  /** A new connection is up. */
  opened(): void {
    this.firstAckAt = null;
    this.lastAckAt = null;
  }

  acked(): void {
    this.lastAckAt = performance.now();
    this.firstAckAt ??= this.lastAckAt;
  }

  /** The current connection has acked a chunk. */
  get trusted(): boolean {
    return this.firstAckAt !== null;
  }

  /** The error a connection ended with, with what its end tells added; `inFlight` is what it still held. */
  ended(byPeer: boolean, error: ForwardError | undefined, inFlight: Iterable<InFlight>): ForwardError | undefined {
    return this.tooBig(byPeer, this.closedOnAck(byPeer, error), inFlight);
  }

  /**
   * A server that closes each connection once it has acked (Fluentd's in_forward with
   * deny_keepalive) makes every chunk sent after the first on a connection a resend, and one it
   * took before closing a duplicate. Seen twice in a row, the link sends one chunk at a time, and
   * the lost connection's message says so. Timed from the first ack, not from the connect, and
   * whatever is still in flight: a live tail's connection waits idle for its one chunk, and its
   * next burst would be resent all but one.
   */
  private closedOnAck(byPeer: boolean, error: ForwardError | undefined): ForwardError | undefined {
    if (this.oneChunkAtATime || !error) return error;
    const soon = byPeer && this.firstAckAt !== null && performance.now() - this.firstAckAt < CLOSED_AFTER_ACK_MS;
    this.closedAfterAck = soon ? this.closedAfterAck + 1 : 0;
    if (this.closedAfterAck < 2) return error;
    this.oneChunkAtATime = true;
    return new ConnectionLostError(
      `${error.message}; it ended the connection once it had acked, twice in a row (deny_keepalive in its forward input?): one chunk at a time to it from now on`,
    );
  }

  /**
   * A server that takes no message over a size ends the connection as one arrives (Fluent Bit's
   * forward input, over its Buffer_Max_Size), and the chunk sent again meets the same end each
   * time, for ever. From the third end with a chunk in flight and no ack after it was sent (a
   * server that acks and then closes, as deny_keepalive does, is another matter), the message
   * names the biggest such chunk and its size: a server killed twice in a row while one chunk was
   * in flight, as a chaos run does, is not taken for one with a limit.
   */
  private tooBig(byPeer: boolean, error: ForwardError | undefined, inFlight: Iterable<InFlight>): ForwardError | undefined {
    if (!error || error.fatal || !byPeer) return error;
    let suspect: InFlight | undefined;
    for (const pending of inFlight) {
      if (this.lastAckAt !== null && this.lastAckAt >= pending.sentAt) continue;
      pending.lost = (pending.lost ?? 0) + 1;
      const big = (pending.frameBytes ?? 0) >= LIMITED_MESSAGE_BYTES;
      if (pending.lost >= LIMIT_SEEN_AFTER && big && pending.frameBytes! > (suspect?.frameBytes ?? 0)) suspect = pending;
    }
    if (!suspect) return error;
    const hint = endedWithChunkHint(suspect.lost!, suspect.frameBytes, suspect.chunk.id);
    return new ConnectionLostError(`${error.message}${hint}`, { cause: error });
  }
}
