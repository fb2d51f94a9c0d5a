/**
 * Delivers chunks at least once, across a pool of servers. A chunk counts as delivered only when a
 * server acks its id: a socket write is not delivery.
 *
 * Chunks are shared among the regular servers that are up by smooth weighted round-robin, each
 * server holding at most `window` unacked chunks (see dispatch()). When a server's connection
 * drops or an ack is late, its unacked chunks go back to the front of the queue and on to another
 * server (duplicates are possible, a loss is not), and the server is retried with exponential
 * backoff. Standby servers connect only once every regular server has
 * failed, and are let go when one is back. A server that refuses this client (shared key,
 * credentials, TLS) ends the sender when no other server may take the chunks; otherwise it is
 * passed over and tried again later. --retry-timeout with nothing acked ends it too.
 */
import { EventEmitter } from 'node:events';
import type { BackoffOptions } from '../backoff.js';
import type { Chunk } from './chunk.js';
import type { ConnectionOptions } from './connection.js';
import { describe, type Endpoint } from './endpoint.js';
import { AuthError, DeliveryError, ForwardError, TlsError } from './errors.js';
import { RetryClock } from './retry-clock.js';
import { ServerGroup, systemLookup, type Lookup, type ServerSpec } from './server-group.js';
import { ServerLink, type Pending } from './server-link.js';
import { ServerPool } from './server-pool.js';
import { WaitingChunks, type ChunkBodies } from './waiting-chunks.js';

export interface SenderOptions extends ConnectionOptions {
  /** The regular servers; a name stands for every address it resolves to. */
  endpoints: ServerSpec[];
  /** Servers that take chunks only while every regular server is down. */
  standby?: ServerSpec[];
  tag: string;
  /** Chunks sent to one server and not yet acked, at most. */
  window: number;
  ackTimeoutMs: number;
  backoff: BackoffOptions;
  /** Give up when nothing could be delivered for this long (0: retry for ever). */
  retryTimeoutMs: number;
  /** Look names up again this often (0: once). */
  dnsRefreshMs?: number;
  lookup?: Lookup;
  /** Where bodies of chunks in flight wait once written; without it each is held until its ack. */
  bodies?: ChunkBodies;
  /** A refused server's first wait before it is tried again (see RefusedRetry). */
  refusedRetryMs?: number;
}

export type SenderState = 'disconnected' | 'connecting' | 'connected' | 'closed';

export interface SenderEvents {
  state: [SenderState, Endpoint | null];
  /** A chunk acked: the ack latency in ms, and the server that acked it. */
  acked: [Chunk, number, ServerLink];
  resend: [Chunk, ServerLink];
  /** A chunk handed to a server's connection to be written. */
  dispatched: [Chunk, ServerLink];
  'connect-error': [ForwardError, Endpoint | null];
  /** An established connection failed; the number is how many chunks will be sent again. */
  'connection-lost': [ForwardError, number, ServerLink];
  /** A server joined, changed state, or left the pool. */
  server: [ServerLink];
  /** A server refused this client while others may take the chunks: it is tried again in the ms given. */
  refused: [ForwardError, ServerLink, number];
  fatal: [ForwardError];
}

export class Sender extends EventEmitter<SenderEvents> {
  private readonly waiting: WaitingChunks;
  private readonly pool: ServerPool;
  private readonly groups: ServerGroup[] = [];
  private fatalError: ForwardError | null = null;
  /** The last failed connect or lost connection: what a give-up says it gave up on. */
  private lastFailure: ForwardError | null = null;
  private started = false;
  private readonly retry: RetryClock;
  state: SenderState = 'disconnected';

  constructor(private readonly options: SenderOptions) {
    super();
    this.retry = new RetryClock(options.retryTimeoutMs);
    this.waiting = new WaitingChunks(options.bodies);
    this.pool = new ServerPool(options.window, (options.standby?.length ?? 0) > 0);
  }

  /** Sets --retry-timeout and starts its clock now (an outage during the read does not count against it). */
  setRetryTimeout(ms: number): void {
    this.retry.reset(ms);
  }

  /** Starts connecting; resolves once a server is up. */
  async start(): Promise<void> {
    if (this.state === 'connected') return;
    if (this.fatalError) throw this.fatalError;
    // Waiting for the first connection is work too: --retry-timeout bounds it.
    this.retry.startWaiting(this.pending);
    this.open();
    await new Promise<void>((resolve, reject) => {
      const onState = (state: SenderState) => state === 'connected' && done(resolve);
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

  /** Queues a chunk; the promise resolves when a server acks it. */
  send(chunk: Chunk): Promise<void> {
    if (this.fatalError) return Promise.reject(this.fatalError);
    this.open();
    this.retry.workArrives(this.pending);
    return new Promise((resolve, reject) => {
      this.waiting.push({ chunk, resolve, reject, sentAt: 0, timer: undefined, released: false });
      this.dispatch();
    });
  }

  /** Chunks queued or in flight. */
  get pending(): number {
    return this.waiting.length + this.pool.inFlight;
  }

  /** Chunks given to send() and not yet handed to a server. */
  get queued(): number {
    return this.waiting.length;
  }

  get inFlightCount(): number {
    return this.pool.inFlight;
  }

  /** Chunks the servers taking chunks now can hold in flight (one window while none is up). */
  get capacity(): number {
    return this.pool.capacity;
  }

  servers(): ServerLink[] {
    return this.pool.all();
  }

  /**
   * Stops: waits up to `timeoutMs` for what is queued and in flight to be acked, then closes.
   * Returns the chunks that were not acked (they stay wherever the caller keeps them).
   */
  async close(timeoutMs: number): Promise<Chunk[]> {
    const deadline = performance.now() + timeoutMs;
    while (this.pending > 0 && !this.fatalError && performance.now() < deadline) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.off('acked', done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(50, Math.max(1, deadline - performance.now())));
        this.on('acked', done);
      });
    }
    const unacked = this.unacked();
    this.setState('closed', null);
    this.waiting.clear();
    await Promise.all([...this.groups.map((g) => g.close()), ...this.servers().map((l) => l.close())]);
    const error = this.fatalError ?? new DeliveryError('audit-ship is shutting down');
    for (const p of unacked) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    return unacked.map((p) => p.chunk);
  }

  /** Every chunk not acked: in flight at some server, or queued. */
  private unacked(): Pending[] {
    return [...this.servers().flatMap((l) => [...l.inFlight.values()]), ...this.waiting.all()];
  }

  private open(): void {
    if (this.started || this.state === 'closed') return;
    this.started = true;
    this.setState('connecting', null);
    const { options } = this;
    for (const [specs, standby] of [
      [options.endpoints, false],
      [options.standby ?? [], true],
    ] as const) {
      for (const spec of specs) {
        const group = new ServerGroup(spec, options.lookup ?? systemLookup, options.dnsRefreshMs ?? 0, options.backoff, {
          add: (endpoint) => this.addLink(endpoint, spec.weight ?? 1, standby),
          remove: (endpoint) => void this.retireLink(endpoint),
          failed: (error) => this.onConnectError(error, null),
        });
        this.groups.push(group);
      }
    }
  }

  private addLink(endpoint: Endpoint, weight: number, standby: boolean): void {
    const label = describe(endpoint);
    if (this.pool.get(label) || this.state === 'closed') return;
    const link = new ServerLink(endpoint, label, weight, standby, this.options);
    link.on('state', () => this.onLinkState(link));
    link.on('acked', (p, ms) => this.onAck(p, ms, link));
    link.on('written', (p) => this.waiting.written(p));
    link.on('returned', (back) => this.requeue(back, link));
    link.on('connect-error', (error) => this.onConnectError(error, endpoint));
    link.on('connection-lost', (error, n) => {
      if (this.state === 'closed') return;
      this.lastFailure = error;
      this.emit('connection-lost', error, n, link);
    });
    link.on('fatal', (error) => this.onRefused(link, error));
    this.pool.add(link);
    this.onLinkState(link);
  }

  /** A server DNS no longer lists: no more chunks; it is closed once what it holds is acked. */
  private async retireLink(endpoint: Endpoint): Promise<void> {
    const link = this.pool.get(describe(endpoint));
    if (!link) return;
    this.pool.remove(link);
    await link.deactivate();
    this.onLinkState(link);
  }

  /** Hands queued chunks to the servers, each to the one whose turn it is (ServerPool.next). */
  private dispatch(): void {
    while (this.waiting.length > 0 && this.state !== 'closed') {
      const next = this.pool.next();
      if (!next?.hasRoom) return;
      // A chunk to resend whose body was given up waits for it, and the chunks behind it wait too:
      // one body at a time is read back, when a server can take it.
      const pending = this.waiting.take(() => this.dispatch());
      if (!pending) return;
      this.pool.charge(next);
      next.send(pending);
      this.emit('dispatched', pending.chunk, next);
    }
  }

  private onLinkState(link: ServerLink): void {
    if (this.state === 'closed') return;
    this.pool.updateStandby();
    if (this.pool.anyUp) {
      this.retry.awaitingStart = false;
      this.setState('connected', link.endpoint);
    } else if (this.state === 'connected') {
      this.setState('disconnected', null);
    }
    this.emit('server', link);
    // A server that accepts and then fails (a load balancer with no backend, one that never acks)
    // never causes a connect error: its failures count against --retry-timeout here.
    if (link.state === 'down') this.checkRetryTimeout();
    this.dispatch();
  }

  private onAck(pending: Pending, ms: number, link: ServerLink): void {
    this.retry.progress();
    pending.resolve();
    this.emit('acked', pending.chunk, ms, link);
    this.dispatch();
  }

  /** Chunks whose server failed go back to the front of the queue, in the order they were sent. */
  private requeue(back: Pending[], link: ServerLink): void {
    if (this.state === 'closed' || this.fatalError) return;
    for (const p of back) {
      p.chunk.retries++;
      this.emit('resend', p.chunk, link);
    }
    this.waiting.returned(back);
    this.dispatch();
  }

  /**
   * A link's fatal error. A refusal of this client, while another server may still take the chunks
   * (a rollout that reached one replica first), passes that server over to be tried again later;
   * the last to refuse, or any other fatal error, ends the run.
   */
  private onRefused(link: ServerLink, error: ForwardError): void {
    if (this.state === 'closed') return;
    const refusal = error instanceof AuthError || error instanceof TlsError;
    const others = this.servers().some((l) => l !== link && l.refused === null);
    if (!refusal || !others) return this.failAll(error);
    this.lastFailure = error;
    this.emit('refused', error, link, link.retryLater());
  }

  /** A failed try is retried, or, past --retry-timeout, is the reason the give-up names (and not emitted). */
  private onConnectError(error: ForwardError, endpoint: Endpoint | null): void {
    if (this.state === 'closed') return;
    this.lastFailure = error;
    if (this.state !== 'connected') this.setState('disconnected', null);
    this.checkRetryTimeout();
    if (!this.fatalError) this.emit('connect-error', error, endpoint);
  }

  private checkRetryTimeout(): void {
    if (this.state === 'connected') return;
    const expired = this.retry.expired(this.pending);
    if (!expired) return;
    expired.lastFailure = this.lastFailure;
    this.failAll(expired);
  }

  private setState(state: SenderState, endpoint: Endpoint | null): void {
    if (this.state === state || this.state === 'closed') return;
    this.state = state;
    this.emit('state', state, endpoint);
  }

  private failAll(error: ForwardError): void {
    if (this.fatalError) return;
    this.fatalError = error;
    const all = this.unacked();
    this.waiting.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    this.emit('fatal', error);
    this.setState('closed', null);
    for (const group of this.groups) void group.close();
    for (const link of this.servers()) void link.close();
  }
}
