/**
 * One server of the pool: its connection, its window of chunks in flight, its backoff. A link
 * does not choose what to send; the sender hands it chunks while it is up and has room. When its
 * connection is lost or an ack is late, it hands every unacked chunk back to the sender, which
 * sends them to whichever server is up (the spool still holds them, so nothing rides on a link).
 *
 *   idle ──activate──▶ connecting ──handshake ok──▶ up ──lost, ack timeout──▶ down ─backoff─▶ connecting
 *     ▲                     └──────────── failed ──────────────────────────────▶ down
 *     └──────── deactivate (a standby once a regular server is back; an address DNS no longer lists)
 *
 * A refusal (shared key, credentials, TLS) stops the loop at `down`, `refused` set: the sender ends
 * the run, or has the link activated again later (retryLater) while other servers take the chunks.
 */
import { EventEmitter } from 'node:events';
import { Backoff, sleep, type BackoffOptions } from '../backoff.js';
import { Connection, type ConnectionOptions } from './connection.js';
import type { Endpoint } from './endpoint.js';
import { ConnectionEnds, type InFlight } from './connection-ends.js';
import { AckTimeoutError, DeliveryError, ForwardError } from './errors.js';
import { encodePackedForward } from './protocol.js';
import { RefusedRetry } from './refused-retry.js';
import { unackedHint } from './socket-errors.js';
import { span } from '../span.js';

/** A connection that lasted this long before it failed was a working one, whatever it delivered. */
const HEALTHY_CONNECTION_MS = 60_000;

export interface LinkOptions extends ConnectionOptions {
  tag: string;
  window: number;
  ackTimeoutMs: number;
  backoff: BackoffOptions;
  /** A refused server's first wait before it is tried again (see RefusedRetry). */
  refusedRetryMs?: number;
}

export interface Pending extends InFlight {
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
  /** Its body was given up once written (SenderOptions.bodies), and must be restored before a resend. */
  released: boolean;
  /** Times its ack did not come within --ack-timeout. */
  unanswered?: number;
}

export type LinkState = 'idle' | 'connecting' | 'up' | 'down';

export interface LinkEvents {
  state: [LinkState];
  acked: [Pending, number];
  /** A chunk's frame went to the socket on the connection it is still in flight on. */
  written: [Pending];
  /** Chunks that were in flight when the connection ended, to be sent again elsewhere. */
  returned: [Pending[]];
  'connect-error': [ForwardError];
  'connection-lost': [ForwardError, number];
  fatal: [ForwardError];
}

export class ServerLink extends EventEmitter<LinkEvents> {
  state: LinkState = 'idle';
  /** Set once the link failed since it was last up: a standby takes over only when every regular server has. */
  failedSinceUp = false;
  private readonly refusal: RefusedRetry;
  /** A connection to this server had an answer in this run (see ConnectionOptions.answeredBefore). */
  private answered = false;
  /** When the certificate chain this server presented at its last TLS connection expires (seconds since the epoch). */
  certificateExpiry: number | null = null;
  /** A connection to this server had a reply in the Forward protocol in this run (see ConnectionOptions.repliedBefore). */
  private replied = false;
  readonly inFlight = new Map<string, Pending>();
  private readonly ends = new ConnectionEnds();
  private connection: Connection | null = null;
  private readonly backoff: Backoff;
  private abort = new AbortController();
  private running: Promise<void> | null = null;
  private restart = false;
  private closed = false;
  /** The socket asked us to wait for 'drain': no room until it drains. */
  private blocked = false;
  /**
   * Acked a chunk on its current connection. Until then a full window is passed over rather than
   * waited for: a server that accepts and never acks holds one window of chunks for one ack
   * timeout, and the pool does not wait on it.
   */
  get trusted(): boolean {
    return this.ends.trusted;
  }
  /** Smooth weighted round-robin state, kept by the sender. */
  current = 0;
  /** What this server acked, and how many chunks it failed to ack and gave back: for its metrics. */
  chunksAcked = 0;
  recordsAcked = 0;
  chunksReturned = 0;

  constructor(
    readonly endpoint: Endpoint,
    /** What the metrics and messages call this server. */
    readonly label: string,
    readonly weight: number,
    readonly standby: boolean,
    private readonly options: LinkOptions,
  ) {
    super();
    this.backoff = new Backoff(options.backoff);
    this.refusal = new RefusedRetry(options.refusedRetryMs);
  }

  /** Up, with room in its window and a socket that takes writes. */
  get hasRoom(): boolean {
    if (this.state !== 'up' || this.connection === null || this.blocked) return false;
    return this.ends.oneAtATime ? !this.trusted && this.inFlight.size === 0 : this.inFlight.size < this.options.window;
  }

  /** Starts connecting, and reconnecting after every failure, until deactivated. */
  activate(): void {
    if (this.closed) return;
    // Still winding down from a deactivate(): start again once that is done.
    if (this.running) return void (this.restart = this.abort.signal.aborted);
    if (this.abort.signal.aborted) this.abort = new AbortController();
    this.running = this.loop().finally(() => {
      this.running = null;
      if (this.restart) {
        this.restart = false;
        this.activate();
      }
    });
  }

  /**
   * Stops taking chunks; once the chunks in flight are acked (or returned) the connection is
   * closed and the link is idle. Resolves then.
   */
  async deactivate(): Promise<void> {
    this.refusal.cancel();
    this.restart = false;
    this.abort.abort();
    if (this.inFlight.size === 0) this.connection?.fail();
    await this.running;
  }

  /** Closes at once, for good; what is in flight is returned to the sender. */
  async close(): Promise<void> {
    this.refusal.cancel();
    this.closed = true;
    this.restart = false;
    this.abort.abort();
    const connection = this.connection;
    if (connection) await connection.end();
    await this.running;
  }

  /** A chunk unacked within --ack-timeout; from its second time, why that may be (unackedHint). */
  private ackTimedOut(pending: Pending): AckTimeoutError {
    const { chunk } = pending;
    const times = (pending.unanswered = (pending.unanswered ?? 0) + 1);
    const again = times < 2 ? '' : unackedHint(times, pending.frameBytes, this.label, this.chunksAcked > 0);
    return new AckTimeoutError(`no ack from ${this.label} for chunk ${chunk.id} within ${span(this.options.ackTimeoutMs)}${again}`);
  }

  /** Writes a chunk; the link must have room. */
  send(pending: Pending): void {
    const connection = this.connection!;
    const { chunk } = pending;
    const frame = encodePackedForward(chunk.tag ?? this.options.tag, chunk.entries, {
      size: chunk.count,
      chunk: chunk.id,
      ...(chunk.compressed ? { compressed: 'gzip' as const } : {}),
    });
    pending.sentAt = performance.now();
    pending.frameBytes = frame.reduce((bytes, part) => bytes + part.length, 0);
    pending.timer = setTimeout(() => connection.fail(this.ackTimedOut(pending)), this.options.ackTimeoutMs);
    this.inFlight.set(chunk.id, pending);
    // Only a write that completed for the chunk where it is still in flight counts: a late
    // callback from a lost connection must not free a body that a resend is writing again.
    const written = (error?: Error | null) => {
      if (!error && this.connection === connection && this.inFlight.get(chunk.id) === pending) this.emit('written', pending);
    };
    if (!connection.write(frame, written)) {
      this.blocked = true;
      void connection.waitDrain().then(() => {
        this.blocked = false;
        this.setState(this.state, true);
      });
    }
  }

  private async loop(): Promise<void> {
    let barren = false;
    while (!this.abort.signal.aborted) {
      if (barren) await sleep(this.backoff.next(), this.abort.signal);
      if (this.abort.signal.aborted) break;
      this.setState('connecting');
      let connection: Connection;
      try {
        connection = await Connection.open(this.endpoint, { ...this.options, answeredBefore: this.answered, repliedBefore: this.replied });
      } catch (error) {
        const e = error instanceof ForwardError ? error : new DeliveryError(String(error), { cause: error });
        if (e.fatal) return this.refuse(e);
        this.failedSinceUp = true;
        // Said before the state changes: going down may end the sender's --retry-timeout, and the
        // give-up names this as the reason.
        this.emit('connect-error', e);
        this.setState('down');
        barren = true;
        continue;
      }
      if (this.abort.signal.aborted) {
        connection.fail();
        break;
      }
      barren = await this.use(connection);
    }
    this.setState(this.refused ? 'down' : 'idle');
  }

  /**
   * The server refused this client: the link stops trying and says so ('fatal'); the sender ends
   * the run, or, while other servers may take the chunks, has it tried again later (retryLater).
   */
  private refuse(error: ForwardError): void {
    this.refusal.error = error;
    this.failedSinceUp = true;
    this.emit('fatal', error);
    this.setState('down');
  }

  /** Why the server refused this client at its last try; null once a try gets through. */
  get refused(): ForwardError | null {
    return this.refusal.error;
  }

  /** Tries a refused server again after a wait that doubles at each refusal; returns the wait. */
  retryLater(): number {
    return this.refusal.schedule(() => this.activate());
  }

  /** Runs one connection to its end; true when it ended soon and barren (the next attempt waits out a backoff). */
  private async use(connection: Connection): Promise<boolean> {
    this.connection = connection;
    const opened = performance.now();
    connection.on('ack', (id: string) => this.onAck(id));
    const closed = new Promise<ForwardError | undefined>((resolve) => connection.once('close', resolve));
    this.failedSinceUp = false;
    this.refusal.accepted();
    this.ends.opened();
    this.certificateExpiry = connection.peerCertificateExpiry ?? this.certificateExpiry;
    this.setState('up');
    const ended = await closed;
    const error = this.ends.ended(connection.endedByPeer, ended, this.inFlight.values());
    this.answered ||= connection.heard;
    this.replied ||= connection.replied;
    this.connection = null;
    this.blocked = false;
    // A fatal error (a server that wants a shared key we lack) is said once, as the run's end: not
    // as a lost connection first, whose "reconnecting" would not happen.
    if (error && !error.fatal && !this.abort.signal.aborted) this.emit('connection-lost', error, this.inFlight.size);
    if (error?.fatal) {
      this.abort.abort();
      this.refuse(error);
    } else if (error) {
      this.failedSinceUp = true;
      this.setState('down');
    }
    this.returnInFlight();
    // A connection that failed before a useful ack, and soon, is a failed attempt: the next waits
    // out the backoff. Otherwise a server that accepts and closes at once (a load balancer with no
    // backend), or acks ids we never sent, gets thousands of reconnects a second.
    return error !== undefined && !this.trusted && performance.now() - opened < HEALTHY_CONNECTION_MS;
  }

  /** An ack; only one for a chunk in flight here counts (and trusts the connection). */
  private onAck(chunkId: string): void {
    const pending = this.inFlight.get(chunkId);
    if (!pending) return; // acked already, returned for a resend, or bogus
    this.inFlight.delete(chunkId);
    clearTimeout(pending.timer);
    this.backoff.reset();
    this.ends.acked();
    // One chunk a connection: ended here, or the next chunk could be written as the server closes.
    if (this.ends.oneAtATime) void this.connection?.end();
    this.chunksAcked++;
    this.recordsAcked += pending.chunk.count;
    this.emit('acked', pending, performance.now() - pending.sentAt);
    // A deactivated link closes once its last chunk is acked.
    if (this.abort.signal.aborted && this.inFlight.size === 0) this.connection?.fail();
  }

  private returnInFlight(): void {
    if (this.inFlight.size === 0) return;
    const back = [...this.inFlight.values()];
    this.inFlight.clear();
    this.chunksReturned += back.length;
    for (const p of back) clearTimeout(p.timer);
    this.emit('returned', back);
  }

  /** `force`: tell the sender again, for a change of room rather than of state. */
  private setState(state: LinkState, force = false): void {
    if (this.state === state && !force) return;
    this.state = state;
    this.emit('state', state);
  }
}
