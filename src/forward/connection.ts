/**
 * One connection to a forward endpoint, from connect to close. Reconnecting is the server link's
 * business, sharing among servers the sender's; a Connection is used once.
 *
 *   connecting ──tcp/tls up──▶ awaiting-helo ──HELO──▶ awaiting-pong ──PONG ok──▶ established
 *        │            (no shared key: straight to established)                        │
 *        └───────────── error, timeout, auth failure, peer close ──────────────▶ closed ◀┘
 *
 * In `established`, frames go out through write() and each `{ack}` from the server is emitted as
 * 'ack'. 'close' is emitted exactly once, with the error that ended the connection, if any.
 */
import { EventEmitter, once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import type { ConnectionOptions as TlsConnectionOptions, TLSSocket } from 'node:tls';
import { randomBytes } from '../crypto.js';
import { decodeMultiStream } from '@msgpack/msgpack';
import { eventTimeCodec } from './event-time-codec.js';
import { encodePing, parseAck, parseHelo, parsePong, pongDigestMatches, type Helo } from './protocol.js';
import { AuthError, ConnectionLostError, ForwardError, HandshakeError } from './errors.js';
import { closedByPeer, connectTimedOut, handshakeTimedOut, socketFailed, type ConnectionFacts } from './connection-failures.js';
import { notForwardReply } from './socket-errors.js';
import { describe, type Endpoint } from './endpoint.js';
import { chainExpiry } from './peer-certificate.js';
import { ipVersion } from '../ip.js';
import { printable } from '../printable.js';

export interface Security {
  sharedKey: string;
  selfHostname: string;
  username?: string | undefined;
  password?: string | undefined;
}

export interface ConnectionOptions {
  /**
   * TLS options (ca, cert, key, servername, rejectUnauthorized), or a function called for each new
   * connection that gives them (files read again: a renewed certificate), or null for plain TCP.
   */
  tls: TlsConnectionOptions | (() => TlsConnectionOptions) | null;
  connectTimeoutMs: number;
  /** Also bounds the HELO/PING/PONG exchange. */
  handshakeTimeoutMs: number;
  keepAliveMs: number;
  security: Security | null;
  /**
   * A connection to this server had an answer earlier in the run: a silent end now is the
   * server's trouble, not TLS on one side only, and is said without that hint.
   */
  answeredBefore?: boolean;
  /** A connection to this server had a reply in the Forward protocol earlier in the run (HELO, PONG, an ack). */
  repliedBefore?: boolean;
}

export type ConnectionState = 'connecting' | 'awaiting-helo' | 'awaiting-pong' | 'established' | 'closed';

/** What a server may send us: HELO, PONG and acks are small maps and arrays of short strings. */
// rawStrings: a HELO's nonce may come as a str of random bytes (Fluent Bit), which only its bytes
// hash as the server does (protocol.ts reads the other strings as text).
const REPLY_LIMITS = { maxStrLength: 4096, maxBinLength: 4096, maxArrayLength: 16, maxMapLength: 16, maxExtLength: 16, rawStrings: true };
const MAX_REPLY_BYTES = 64 * 1024;

export class Connection extends EventEmitter {
  state: ConnectionState = 'connecting';
  /** Set by end(): the socket closing then is our doing, not a lost connection. */
  private ending = false;
  private helo: Helo | null = null;
  private readonly salt = randomBytes(16).toString('hex');
  /** Bytes received since the last whole message. */
  private unparsed = 0;
  /** TCP is connected and the TLS handshake under way: a failure now may be a server without TLS. */
  private tlsHandshake = false;
  /** Whether the server answered on this connection (a byte, or TLS's handshake): one that expects TLS resets a plain one unanswered. */
  heard = false;
  /** Whether a reply's first bytes came (after TLS's handshake): checked once for TLS or text, which no forward server sends. */
  replied = false;
  /** When the chain the server presented expires (seconds since the epoch): TLS only, once connected. */
  peerCertificateExpiry: number | null = null;
  /** The server closed or reset the connection: what Fluentd's deny_keepalive does after each ack. */
  endedByPeer = false;

  private constructor(
    readonly endpoint: Endpoint,
    private readonly socket: Socket,
    private readonly options: ConnectionOptions & { tls: TlsConnectionOptions | null },
  ) {
    super();
  }

  /** Connects and completes the handshake; rejects with a ForwardError naming the cause. */
  static async open(endpoint: Endpoint, given: ConnectionOptions): Promise<Connection> {
    const options = { ...given, tls: typeof given.tls === 'function' ? given.tls() : given.tls };
    const host = endpoint.address ?? endpoint.host;
    // The certificate is checked against the name, not the address it resolved to.
    const servername = ipVersion(endpoint.host) === 0 ? { servername: endpoint.host } : {};
    // node:tls is loaded only for TLS: a plain connection does without its memory (about 1 MB).
    const socket = options.tls
      ? (await import('node:tls')).connect({ host, port: endpoint.port, ...servername, ...options.tls })
      : netConnect({ host, port: endpoint.port });
    const connection = new Connection(endpoint, socket, options);
    return connection.start();
  }

  private async start(): Promise<Connection> {
    const { socket, options, endpoint } = this;
    socket.setNoDelay(true);
    const ready = new Promise<void>((resolve, reject) => {
      this.once('established', resolve);
      this.once('close', (error?: ForwardError) =>
        reject(error ?? new ConnectionLostError(`connection to ${describe(endpoint)} closed during the handshake`)),
      );
    });
    let timer = setTimeout(() => this.fail(connectTimedOut(this.facts)), options.connectTimeoutMs);
    if (options.tls) socket.once('connect', () => (this.tlsHandshake = true));
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      if (options.tls) this.peerCertificateExpiry = chainExpiry((socket as TLSSocket).getPeerCertificate(true));
      if (this.tlsHandshake) this.heard = true;
      this.tlsHandshake = false;
      clearTimeout(timer);
      timer = setTimeout(() => this.fail(handshakeTimedOut(this.facts)), options.handshakeTimeoutMs);
      this.onConnected();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' && this.state !== 'closed') this.endedByPeer = true;
      this.fail(socketFailed(this.facts, error));
    });
    socket.on('close', () => {
      if (this.ending) return this.fail();
      if (this.state !== 'closed') this.endedByPeer = true;
      this.fail(closedByPeer(this.facts));
    });
    try {
      await ready;
    } finally {
      clearTimeout(timer);
    }
    return this;
  }

  /** What the failure functions (connection-failures.ts) read. */
  private get facts(): ConnectionFacts {
    const { endpoint, state, heard, replied, tlsHandshake, options } = this;
    return { endpoint, state, heard, replied, tlsHandshake, options };
  }

  private onConnected(): void {
    if (this.state !== 'connecting') return;
    this.socket.setKeepAlive(true, this.options.keepAliveMs);
    this.state = this.options.security ? 'awaiting-helo' : 'established';
    void this.readLoop();
    if (this.state === 'established') this.emit('established');
  }

  private async readLoop(): Promise<void> {
    try {
      for await (const message of decodeMultiStream(this.boundedReplies(), { extensionCodec: eventTimeCodec, ...REPLY_LIMITS })) {
        this.unparsed = 0;
        this.onMessage(message);
        if (this.state === 'closed') return;
      }
    } catch (error) {
      if (this.state !== 'closed') {
        this.fail(
          error instanceof ForwardError
            ? error
            : new ConnectionLostError(`${describe(this.endpoint)} sent bytes that are not msgpack: ${(error as Error).message}`),
        );
      }
    }
  }

  /**
   * The socket's bytes, failing once more than MAX_REPLY_BYTES arrive without a whole message: a
   * server's replies (HELO, PONG, acks) are tiny, and the decoder would otherwise buffer whatever
   * a broken or hostile peer streams at it (a 4 GB bin header) until the ack timeout.
   */
  private async *boundedReplies(): AsyncGenerator<Buffer> {
    for await (const chunk of this.socket as AsyncIterable<Buffer>) {
      if (!this.replied) {
        this.replied = true;
        const error = notForwardReply(describe(this.endpoint), chunk, this.options.tls !== null);
        if (error) throw error;
      }
      this.heard = true;
      this.unparsed += chunk.length;
      if (this.unparsed > MAX_REPLY_BYTES) {
        throw new ConnectionLostError(
          `${describe(this.endpoint)} sent over ${MAX_REPLY_BYTES} bytes without a whole reply; acks are a few dozen bytes`,
        );
      }
      yield chunk;
    }
  }

  private onMessage(message: unknown): void {
    switch (this.state) {
      case 'awaiting-helo':
        return this.onHelo(message);
      case 'awaiting-pong':
        return this.onPong(message);
      case 'established': {
        const chunk = parseAck(message);
        if (chunk === null && parseHelo(message)) {
          throw new AuthError(`${describe(this.endpoint)} requires a shared key (it sent HELO): set --shared-key`);
        }
        if (chunk === null) throw new ConnectionLostError(`${describe(this.endpoint)} sent an unexpected message instead of an ack`);
        this.emit('ack', chunk);
        return;
      }
      default:
        return;
    }
  }

  private onHelo(message: unknown): void {
    const helo = parseHelo(message);
    if (!helo) throw new HandshakeError(`${describe(this.endpoint)} did not start with HELO; is <security> configured on the server?`);
    const security = this.options.security!;
    this.helo = helo;
    this.state = 'awaiting-pong';
    this.socket.write(encodePing({ ...security, sharedKeySalt: this.salt, helo }));
  }

  private onPong(message: unknown): void {
    const pong = parsePong(message);
    if (!pong) throw new HandshakeError(`${describe(this.endpoint)} answered PING with something other than PONG`);
    const where = describe(this.endpoint);
    if (!pong.authenticated) {
      // The reason is the server's own words (at most REPLY_LIMITS' 4 KB): a server that is not
      // Fluentd, or a man in the middle, may put escape sequences in them for the reader's terminal.
      const hint = /user|password/i.test(pong.reason) && !this.options.security!.username ? ' (set --username and --password)' : '';
      throw new AuthError(`${where} rejected the handshake: ${printable(pong.reason) || 'no reason given'}${hint}`);
    }
    if (!pongDigestMatches(pong, this.salt, this.helo!.nonce, this.options.security!.sharedKey)) {
      throw new AuthError(`${where} does not know our shared key (its PONG digest does not match)`);
    }
    this.state = 'established';
    this.emit('established');
  }

  /**
   * Writes one frame; false means the socket buffer is full and waitDrain() should be awaited.
   * `written` is called once the whole frame has gone to the operating system, with an error
   * instead if the connection ended first (or not at all when nothing was written).
   */
  write(parts: readonly Buffer[], written?: (error?: Error | null) => void): boolean {
    if (this.state !== 'established') return false;
    if (parts.length === 1) return this.socket.write(parts[0]!, written);
    this.socket.cork();
    let ok = true;
    const last = parts.length - 1;
    for (let i = 0; i <= last; i++) ok = this.socket.write(parts[i]!, i === last ? written : undefined) && ok;
    this.socket.uncork();
    return ok;
  }

  async waitDrain(): Promise<void> {
    if (this.state !== 'established' || !this.socket.writableNeedDrain) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.on('close', done);
    });
  }

  /** Ends the connection; `error` says why (none for a deliberate close). */
  fail(error?: ForwardError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.socket.destroy();
    this.emit('close', error);
  }

  /** Closes after what has been written is flushed. */
  async end(): Promise<void> {
    if (this.state === 'closed') return;
    const closed = once(this, 'close');
    this.ending = true;
    this.socket.end();
    // A peer that never closes its side must not hold the shutdown.
    const timer = setTimeout(() => this.fail(), 1000);
    await closed;
    clearTimeout(timer);
  }
}
