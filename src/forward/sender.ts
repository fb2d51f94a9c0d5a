/**
 * Delivers chunks at least once, across a pool of servers. A chunk counts as delivered only when a
 * server acks its id: a socket write is not delivery.
 *
 * Chunks are shared among the regular servers that are up by smooth weighted round-robin, each
 * server holding at most `window` unacked chunks (see dispatch()). When a server's connection
 * drops or an ack is late, its unacked chunks go back to the front of the queue and on to another
 * server (duplicates are possible, a loss is not), and the server is retried with exponential
 * backoff. Standby servers connect only once every regular server has
 * failed, and are let go when one is back. Fatal failures (bad shared key, credentials, TLS) end
 * the sender, as does --retry-timeout with nothing acked.
 */
import { EventEmitter } from 'node:events';
import type { BackoffOptions } from '../backoff.js';
import type { Chunk } from './chunk.js';
import { describe, type ConnectionOptions, type Endpoint } from './connection.js';
import { DeliveryError, ForwardError } from './errors.js';
import { RetryClock } from './retry-clock.js';
import { ServerGroup, systemLookup, type Lookup, type ServerSpec } from './server-group.js';
import { ServerLink, type Pending } from './server-link.js';

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
  fatal: [ForwardError];
}

export class Sender extends EventEmitter<SenderEvents> {
  private readonly queue: Pending[] = [];
  /** The chunk at the head of the queue whose body is being restored, to be resent. */
  private restoring: Pending | null = null;
  private readonly links = new Map<string, ServerLink>();
  private readonly groups: ServerGroup[] = [];
  private standbyActive = false;
  private fatalError: ForwardError | null = null;
  private started = false;
  private readonly retry: RetryClock;
  state: SenderState = 'disconnected';

  constructor(private readonly options: SenderOptions) {
    super();
    this.retry = new RetryClock(options.retryTimeoutMs);
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
      this.queue.push({ chunk, resolve, reject, sentAt: 0, timer: undefined, released: false });
      this.dispatch();
    });
  }

  /** Chunks queued or in flight. */
  get pending(): number {
    return this.queue.length + this.inFlightCount;
  }

  /** Chunks given to send() and not yet handed to a server. */
  get queued(): number {
    return this.queue.length;
  }

  get inFlightCount(): number {
    let n = 0;
    for (const link of this.links.values()) n += link.inFlight.size;
    return n;
  }

  /** Chunks the servers taking chunks now can hold in flight (one window while none is up). */
  get capacity(): number {
    let n = 0;
    for (const link of this.links.values()) if (this.eligible(link) && link.state === 'up') n += this.options.window;
    return Math.max(n, this.options.window);
  }

  servers(): ServerLink[] {
    return [...this.links.values()];
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
    const unacked = this.unacked();
    this.setState('closed', null);
    this.queue.length = 0;
    this.restoring = null;
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
    return [...this.servers().flatMap((l) => [...l.inFlight.values()]), ...this.queue];
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
    if (this.links.has(label) || this.state === 'closed') return;
    const link = new ServerLink(endpoint, label, weight, standby, this.options);
    this.links.set(label, link);
    link.on('state', () => this.onLinkState(link));
    link.on('acked', (p, ms) => this.onAck(p, ms, link));
    link.on('written', (p) => this.onWritten(p));
    link.on('returned', (back) => this.requeue(back, link));
    link.on('connect-error', (error) => this.onConnectError(error, endpoint));
    link.on('connection-lost', (error, n) => this.state !== 'closed' && this.emit('connection-lost', error, n, link));
    link.on('fatal', (error) => this.failAll(error));
    if (!standby || this.standbyActive) link.activate();
    this.onLinkState(link);
  }

  /** A server DNS no longer lists: no more chunks; it is closed once what it holds is acked. */
  private async retireLink(endpoint: Endpoint): Promise<void> {
    const label = describe(endpoint);
    const link = this.links.get(label);
    if (!link) return;
    this.links.delete(label);
    await link.deactivate();
    this.onLinkState(link);
  }

  private eligible(link: ServerLink): boolean {
    return this.links.get(link.label) === link && (!link.standby || this.standbyActive);
  }

  /**
   * Hands queued chunks to the servers by smooth weighted round-robin, so that each gets its
   * weight's share. When the server whose turn it is has a full window, the chunk waits for it:
   * shares hold even when the servers are slower than the input. A server that has not acked on
   * its connection yet is passed over instead, so one that never acks cannot hold the others up.
   */
  private dispatch(): void {
    while (this.queue.length > 0 && this.state !== 'closed') {
      let best: ServerLink | null = null;
      let total = 0;
      const candidates: ServerLink[] = [];
      for (const link of this.links.values()) {
        if (link.state !== 'up' || !this.eligible(link) || (!link.hasRoom && !link.trusted)) continue;
        candidates.push(link);
        total += link.weight;
        if (!best || link.current + link.weight > best.current + best.weight) best = link;
      }
      if (!best?.hasRoom) return;
      // A chunk to resend whose body was given up waits for it, and the chunks behind it wait too:
      // one body at a time is read back, when a server can take it.
      if (this.queue[0]!.released) return this.restoreHead();
      for (const link of candidates) link.current += link.weight;
      best.current -= total;
      const pending = this.queue.shift()!;
      best.send(pending);
      this.emit('dispatched', pending.chunk, best);
    }
  }

  private onLinkState(link: ServerLink): void {
    if (this.state === 'closed') return;
    this.updateStandby();
    const up = this.servers().some((l) => l.state === 'up' && this.eligible(l));
    if (up) {
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

  /** Standbys take over once every regular server has failed, and are let go when one is up again. */
  private updateStandby(): void {
    const regular = this.servers().filter((l) => !l.standby);
    const anyUp = regular.some((l) => l.state === 'up');
    const allFailed = regular.every((l) => l.failedSinceUp && l.state !== 'up');
    const want = !anyUp && allFailed && (this.options.standby?.length ?? 0) > 0;
    if (want === this.standbyActive) return;
    this.standbyActive = want;
    for (const link of this.servers()) {
      if (!link.standby) continue;
      if (want) link.activate();
      else void link.deactivate();
    }
  }

  private onAck(pending: Pending, ms: number, link: ServerLink): void {
    this.retry.progress();
    pending.resolve();
    this.emit('acked', pending.chunk, ms, link);
    this.dispatch();
  }

  private onWritten(pending: Pending): void {
    if (!this.options.bodies || pending.released) return;
    pending.released = true;
    this.options.bodies.release(pending.chunk);
  }

  /** Chunks whose server failed go back to the front of the queue, in the order they were sent. */
  private requeue(back: Pending[], link: ServerLink): void {
    if (this.state === 'closed' || this.fatalError) return;
    for (const p of back) {
      p.chunk.retries++;
      this.emit('resend', p.chunk, link);
    }
    this.queue.unshift(...back);
    this.dispatch();
  }

  /** Reads back the body of the chunk at the head of the queue, then dispatches again. */
  private restoreHead(): void {
    if (this.restoring) return;
    const pending = this.queue[0]!;
    this.restoring = pending;
    this.options.bodies!.restore(pending.chunk).then(
      () => {
        // Dropped meanwhile by close() or a fatal error, which rejected it.
        if (this.restoring !== pending) return;
        this.restoring = null;
        pending.released = false;
        this.dispatch();
      },
      (error: Error) => {
        if (this.restoring !== pending) return;
        this.restoring = null;
        // A body that cannot be read back cannot be resent this run; it stays in the spool.
        this.queue.splice(this.queue.indexOf(pending), 1);
        pending.reject(error);
        this.dispatch();
      },
    );
  }

  private onConnectError(error: ForwardError, endpoint: Endpoint | null): void {
    if (this.state === 'closed') return;
    this.emit('connect-error', error, endpoint);
    if (this.state !== 'connected') this.setState('disconnected', null);
    this.checkRetryTimeout();
  }

  private checkRetryTimeout(): void {
    if (this.state === 'connected') return;
    const expired = this.retry.expired(this.pending);
    if (expired) this.failAll(expired);
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
    this.queue.length = 0;
    this.restoring = null;
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
