/**
 * Delivers chunks at least once. A chunk counts as delivered only when the server acks its id:
 * a socket write is not delivery. Up to `window` chunks are in flight; when the connection drops
 * or an ack does not come in time, every unacked chunk is sent again, in order, on the next
 * connection (so duplicates are possible, a loss is not).
 *
 * Endpoints are tried in order on every (re)connect; after all of them fail, the sender backs off
 * exponentially with jitter. Fatal failures (bad shared key, credentials, TLS) are not retried.
 */
import { EventEmitter } from 'node:events';
import { Backoff, sleep, type BackoffOptions } from '../backoff.js';
import type { Chunk } from './chunk.js';
import { Connection, type ConnectionOptions, type Endpoint } from './connection.js';
import { AckTimeoutError, DeliveryError, ForwardError, RetryTimeoutError } from './errors.js';
import { encodePackedForward } from './protocol.js';

/** A connection that lasted this long before it failed was a working one, whatever it delivered. */
const HEALTHY_CONNECTION_MS = 60_000;

export interface SenderOptions extends ConnectionOptions {
  endpoints: Endpoint[];
  tag: string;
  /** Chunks sent and not yet acked, at most. */
  window: number;
  ackTimeoutMs: number;
  backoff: BackoffOptions;
  /** Give up when nothing could be delivered for this long (0: retry for ever). */
  retryTimeoutMs: number;
}

interface Pending {
  chunk: Chunk;
  resolve: () => void;
  reject: (error: Error) => void;
  sentAt: number;
  timer: NodeJS.Timeout | undefined;
}

export type SenderState = 'disconnected' | 'connecting' | 'connected' | 'closed';

export interface SenderEvents {
  state: [SenderState, Endpoint | null];
  acked: [Chunk, number];
  resend: [Chunk];
  'connect-error': [ForwardError, Endpoint];
  /** An established connection failed; the number is how many chunks will be sent again. */
  'connection-lost': [ForwardError, number];
  fatal: [ForwardError];
}

export class Sender extends EventEmitter<SenderEvents> {
  private readonly queue: Pending[] = [];
  private readonly inFlight = new Map<string, Pending>();
  private connection: Connection | null = null;
  private readonly backoff: Backoff;
  private readonly abort = new AbortController();
  private wakeUp: (() => void) | null = null;
  /** When the oldest unacked work started waiting, or the last ack came: what --retry-timeout measures from. */
  private lastProgress = Date.now();
  private fatalError: ForwardError | null = null;
  private awaitingStart = false;
  /** The last connection ended before any ack: wait out a backoff before the next, or a server
   * that accepts and then resets (one shutting down, say) would get a tight resend loop. */
  private lastConnectionBarren = false;
  private running: Promise<void> | null = null;
  private retryTimeoutMs: number;
  state: SenderState = 'disconnected';

  constructor(private readonly options: SenderOptions) {
    super();
    this.backoff = new Backoff(options.backoff);
    this.retryTimeoutMs = options.retryTimeoutMs;
  }

  /**
   * Sets --retry-timeout and starts its clock now: a run whose input has just ended gives up when
   * no ack comes for this long from now on (an outage during the read does not count against it).
   */
  setRetryTimeout(ms: number): void {
    this.retryTimeoutMs = ms;
    this.lastProgress = Date.now();
  }

  /** Starts connecting; resolves once the first connection and handshake succeed. */
  async start(): Promise<void> {
    if (this.state === 'connected') return;
    // Waiting for the first connection is work too: --retry-timeout bounds it.
    if (!this.awaitingStart && this.pending === 0) this.lastProgress = Date.now();
    this.awaitingStart = true;
    this.running ??= this.loop();
    await new Promise<void>((resolve, reject) => {
      const onState = (state: SenderState) => {
        if (state === 'connected') done(resolve);
      };
      const onFatal = (error: ForwardError) => done(() => reject(error));
      const done = (fn: () => void) => {
        this.off('state', onState);
        this.off('fatal', onFatal);
        fn();
      };
      this.on('state', onState);
      this.on('fatal', onFatal);
    });
  }

  /** Queues a chunk; the promise resolves when the server acks it. */
  send(chunk: Chunk): Promise<void> {
    if (this.fatalError) return Promise.reject(this.fatalError);
    this.running ??= this.loop();
    // --retry-timeout measures how long work has waited: an idle spell before it does not count.
    if (this.pending === 0) this.lastProgress = Date.now();
    return new Promise((resolve, reject) => {
      this.queue.push({ chunk, resolve, reject, sentAt: 0, timer: undefined });
      this.notify();
    });
  }

  /** Chunks queued or in flight. */
  get pending(): number {
    return this.queue.length + this.inFlight.size;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /**
   * Stops: waits up to `timeoutMs` for what is queued and in flight to be acked, then closes.
   * Returns the chunks that were not acked (they stay wherever the caller keeps them).
   */
  async close(timeoutMs: number): Promise<Chunk[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending > 0 && !this.fatalError && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.off('acked', done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(50, Math.max(1, deadline - Date.now())));
        this.on('acked', done);
      });
    }
    const unacked = [...this.inFlight.values(), ...this.queue];
    this.setState('closed', null);
    this.abort.abort();
    this.notify();
    const connection = this.connection;
    this.connection = null;
    if (connection) await connection.end();
    const error = this.fatalError ?? new DeliveryError('audit-ship is shutting down');
    for (const p of unacked) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(error);
    }
    this.inFlight.clear();
    this.queue.length = 0;
    await this.running;
    return unacked.map((p) => p.chunk);
  }

  private notify(): void {
    const wake = this.wakeUp;
    this.wakeUp = null;
    wake?.();
  }

  private waitForWork(): Promise<void> {
    return new Promise((resolve) => (this.wakeUp = resolve));
  }

  private setState(state: SenderState, endpoint: Endpoint | null): void {
    if (this.state === state || this.state === 'closed') return;
    this.state = state;
    this.emit('state', state, endpoint);
  }

  private async loop(): Promise<void> {
    try {
      while (this.state !== 'closed') {
        const connection = this.connection ?? (await this.connect());
        if (!connection) continue;
        if (this.queue.length === 0 || this.inFlight.size >= this.options.window) {
          await this.waitForWork();
          continue;
        }
        if (!this.transmit(connection, this.queue.shift()!)) await connection.waitDrain();
      }
    } catch (error) {
      this.failAll(error instanceof ForwardError ? error : new DeliveryError(String(error), { cause: error }));
    }
  }

  /** Sends one chunk; false when the socket asks us to wait for 'drain'. */
  private transmit(connection: Connection, pending: Pending): boolean {
    const { chunk } = pending;
    const frame = encodePackedForward(this.options.tag, chunk.entries, {
      size: chunk.count,
      chunk: chunk.id,
      ...(chunk.compressed ? { compressed: 'gzip' as const } : {}),
    });
    pending.sentAt = performance.now();
    pending.timer = setTimeout(() => {
      connection.fail(new AckTimeoutError(`no ack for chunk ${chunk.id} within ${this.options.ackTimeoutMs} ms`));
    }, this.options.ackTimeoutMs);
    this.inFlight.set(chunk.id, pending);
    return connection.write(frame);
  }

  /** True for a useful ack: one for a chunk in flight. */
  private onAck(chunkId: string): boolean {
    const pending = this.inFlight.get(chunkId);
    if (!pending) return false; // an ack for a chunk already acked or requeued (the resend will be acked too), or a bogus one
    this.inFlight.delete(chunkId);
    clearTimeout(pending.timer);
    this.lastProgress = Date.now();
    this.backoff.reset();
    pending.resolve();
    this.emit('acked', pending.chunk, performance.now() - pending.sentAt);
    this.notify();
    return true;
  }

  /** Puts every unacked chunk back at the front of the queue, in the order they were sent. */
  private requeueInFlight(): void {
    const resend = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const p of resend) {
      clearTimeout(p.timer);
      p.chunk.retries++;
      this.emit('resend', p.chunk);
    }
    this.queue.unshift(...resend);
  }

  private async connect(): Promise<Connection | null> {
    this.setState('connecting', null);
    if (this.lastConnectionBarren) {
      this.lastConnectionBarren = false;
      this.checkRetryTimeout();
      await sleep(this.backoff.next(), this.abort.signal);
      if ((this.state as SenderState) === 'closed') return null;
    }
    for (const endpoint of this.options.endpoints) {
      if (this.state === 'closed') return null;
      try {
        const connection = await Connection.open(endpoint, this.options);
        if ((this.state as SenderState) === 'closed') {
          connection.fail();
          return null;
        }
        this.adopt(connection);
        return connection;
      } catch (error) {
        const e = error instanceof ForwardError ? error : new DeliveryError(String(error), { cause: error });
        if (e.fatal) throw e;
        this.emit('connect-error', e, endpoint);
      }
    }
    this.setState('disconnected', null);
    this.checkRetryTimeout();
    await sleep(this.backoff.next(), this.abort.signal);
    return null;
  }

  private adopt(connection: Connection): void {
    this.connection = connection;
    const opened = Date.now();
    let acked = false;
    connection.on('ack', (id: string) => {
      if (this.onAck(id)) acked = true;
    });
    connection.once('close', (error?: ForwardError) => {
      if (this.connection === connection) this.connection = null;
      // A connection that failed before a useful ack, and soon, is a failed attempt: the next waits
      // out the backoff. Otherwise a server that accepts and closes at once (a load balancer with no
      // backend), or acks ids we never sent, gets thousands of reconnects a second.
      if (error && !acked && Date.now() - opened < HEALTHY_CONNECTION_MS) this.lastConnectionBarren = true;
      if (error && this.state !== 'closed') this.emit('connection-lost', error, this.inFlight.size);
      this.requeueInFlight();
      if (error?.fatal) this.failAll(error);
      else if (this.state !== 'closed') this.setState('disconnected', null);
      this.notify();
    });
    this.awaitingStart = false;
    this.setState('connected', connection.endpoint);
  }

  private checkRetryTimeout(): void {
    const limit = this.retryTimeoutMs;
    if (limit > 0 && (this.pending > 0 || this.awaitingStart) && Date.now() - this.lastProgress > limit) {
      const span = limit % 1000 === 0 ? `${limit / 1000} s` : `${limit} ms`;
      throw new RetryTimeoutError(`nothing could be delivered for ${span} (--retry-timeout)`);
    }
  }

  private failAll(error: ForwardError): void {
    if (this.fatalError) return;
    this.fatalError = error;
    this.requeueInFlight();
    for (const p of this.queue) p.reject(error);
    this.queue.length = 0;
    this.emit('fatal', error);
    this.setState('closed', null);
    this.abort.abort();
    this.connection?.fail();
  }
}
