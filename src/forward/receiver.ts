/**
 * A Fluentd `in_forward`-compatible receiver: TCP or TLS, the HELO/PING/PONG handshake with shared
 * key and user authentication, all four carrier modes, gzip, acks, and UDP heartbeats on the same
 * port. A connection that breaks the protocol is closed with a logged reason; the receiver goes on.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { EventEmitter, once } from 'node:events';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import { randomBytes } from '../crypto.js';
import { decode } from '@msgpack/msgpack';
import { AuditShipError } from '../errors.js';
import { FrameError, FrameReader, type FrameLimits } from '../msgpack/frame-reader.js';
import { eventTimeCodec } from './event-time-codec.js';
import { isTlsRecord, NOT_TLS_CODES, opensslReason, textStart } from './socket-errors.js';
import { decodeTransport, ENTRY_LIMITS, entriesInStr, ProtocolViolation, type DecodedTransport } from './decode-transport.js';
import { encodeAck, encodeMessage, encodePong, parsePing, passwordDigest, sharedKeyDigest } from './protocol.js';

export interface ReceiverSecurity {
  sharedKey: string;
  serverHostname: string;
  /** username → password; user authentication is required when any is given. */
  users: Record<string, string>;
}

export interface ReceiverOptions {
  host: string;
  port: number;
  security: ReceiverSecurity | null;
  tls: TlsOptions | null;
  /** Called for each decoded message before its ack is sent; awaiting it applies backpressure. */
  onTransport: (message: DecodedTransport, remote: string) => void | Promise<void>;
}

/**
 * What one message may hold (documented in docs/receive.md). Checked at each
 * header as the bytes arrive, before anything is buffered for it. A client that has not yet
 * authenticated may send only a PING's worth.
 */
// The same bounds as a chunk's inflated entries: one message carries at most one chunk.
export const RECEIVE_LIMITS: FrameLimits = {
  maxMessageBytes: ENTRY_LIMITS.maxInflatedBytes,
  maxObjects: ENTRY_LIMITS.maxObjects,
  maxDepth: ENTRY_LIMITS.maxDepth,
};
export const UNAUTHENTICATED_LIMITS: FrameLimits = { maxMessageBytes: 4096, maxObjects: 64, maxDepth: 4 };
const DECODE_OPTIONS = {
  extensionCodec: eventTimeCodec,
  maxStrLength: RECEIVE_LIMITS.maxMessageBytes,
  maxBinLength: RECEIVE_LIMITS.maxMessageBytes,
};
/**
 * Strings kept as bytes: for a PING, whose salt may be a str of random bytes (Fluent Bit), and for
 * PackedForward entries sent as a str (Fluentd's out_forward).
 */
const RAW_DECODE_OPTIONS = { ...DECODE_OPTIONS, rawStrings: true };
const HEARTBEAT_REPLY = Buffer.from([0]);

const TLS_ON_PLAIN_PORT =
  'a TLS handshake on a plain TCP port: the client connects with TLS (serve it with --tls-cert and --tls-key, or leave out its --tls)';

/** Why a client's first bytes are no forward client's (TLS on a plain port, or text), or null. */
function notForwardClient(chunk: Buffer, plain: boolean): string | null {
  if (plain && isTlsRecord(chunk)) return TLS_ON_PLAIN_PORT;
  const text = textStart(chunk);
  if (!text) return null;
  if (text.startsWith('JSON')) return `the client sent ${text}: receive reads the Forward protocol in msgpack only`;
  return `the client sent ${text}, not the Forward protocol: a client of another protocol, or pointed at the wrong port`;
}

export class Receiver extends EventEmitter<{ 'connection-error': [string, string] }> {
  private server: Server | null = null;
  private udp: UdpSocket | null = null;
  private readonly sockets = new Set<Socket>();
  /**
   * Every TCP connection from its accept. A TLS connection reaches the handler (and `sockets`)
   * only once its handshake is done: one still shaking hands at close() would finish it after
   * and hold the server open for as long as its client keeps it (a shipper does, for ever).
   */
  private readonly connections = new Set<Socket>();

  constructor(private readonly options: ReceiverOptions) {
    super();
  }

  async listen(): Promise<AddressInfo> {
    const handler = (socket: Socket) => void this.handle(socket);
    this.server = this.options.tls ? createTlsServer(this.options.tls, handler) : createNetServer(handler);
    this.server.on('connection', (raw: Socket) => {
      this.connections.add(raw);
      raw.once('close', () => this.connections.delete(raw));
    });
    if (this.options.tls) {
      // A client that fails the TLS handshake may be gone by the time it is reported, and its TLS
      // socket then knows no address: it is taken from the TCP connection when that arrives.
      const addresses = new WeakMap<Socket, string>();
      this.server.on('connection', (raw: Socket) => addresses.set(raw, `${raw.remoteAddress}:${raw.remotePort}`));
      this.server.on('tlsClientError', (error: Error, socket: Socket) => {
        const raw = (socket as Socket & { _parent?: Socket })._parent;
        const remote = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : ((raw && addresses.get(raw)) ?? 'a client');
        // A client without TLS sends msgpack, which OpenSSL reads as a record of a wrong version.
        const plain = NOT_TLS_CODES.test((error as NodeJS.ErrnoException).code ?? '') ? '; a client without TLS (no --tls) does that' : '';
        // A client certificate that fails the check is closed after the handshake, said only as "socket hang up".
        const refused = (socket as TLSSocket).authorizationError as unknown;
        const why = refused
          ? `the client certificate is not accepted (${String(refused)}): is it signed by --tls-client-ca, and made for client authentication (extendedKeyUsage clientAuth)?`
          : `${opensslReason(error)}${plain}`;
        this.emit('connection-error', remote, `TLS: ${why}`);
      });
    }
    this.server.listen(this.options.port, this.options.host);
    await once(this.server, 'listening');
    const address = this.server.address() as AddressInfo;
    this.udp = createSocket(address.family === 'IPv6' ? 'udp6' : 'udp4');
    this.udp.on('message', (_msg, rinfo) => this.udp?.send(HEARTBEAT_REPLY, rinfo.port, rinfo.address));
    this.udp.on('error', () => this.udp?.close());
    await new Promise<void>((resolve) => {
      this.udp!.once('error', () => resolve()); // heartbeats are optional: a taken UDP port is not fatal
      this.udp!.bind(address.port, this.options.host, () => resolve());
    });
    return address;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const s of this.connections) s.destroy();
    this.udp?.close();
    this.udp = null;
    if (this.server) {
      const closed = once(this.server, 'close');
      this.server.close();
      await closed;
    }
  }

  private async handle(socket: Socket): Promise<void> {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => this.sockets.delete(socket));
    const security = this.options.security;
    const nonce = randomBytes(16);
    // Like in_forward: an auth salt in every HELO, checked only when users are configured.
    const authSalt = randomBytes(16);
    const userAuth = security !== null && Object.keys(security.users).length > 0;
    let authenticated = security === null;
    if (security) socket.write(encodeMessage(['HELO', { nonce, auth: authSalt, keepalive: true }]));
    const frames = new FrameReader(authenticated ? RECEIVE_LIMITS : UNAUTHENTICATED_LIMITS);
    try {
      let first = true;
      for await (const chunk of socket as AsyncIterable<Buffer>) {
        const wrong = first ? notForwardClient(chunk, this.options.tls === null) : null;
        if (wrong) throw new ProtocolViolation(wrong);
        first = false;
        // One client's chunk is decoded and answered before its next bytes are read: a slow or
        // hostile client costs others at most the work of one message.
        for (const frame of frames.push(chunk)) {
          const message = decode(frame, authenticated && !entriesInStr(frame) ? DECODE_OPTIONS : RAW_DECODE_OPTIONS);
          if (message === null) continue; // a TCP heartbeat
          if (!authenticated) {
            authenticated = this.checkPing(socket, message, nonce, userAuth ? authSalt : null);
            if (!authenticated) return;
            frames.setLimits(RECEIVE_LIMITS);
            continue;
          }
          const transport = decodeTransport(message);
          await this.options.onTransport(transport, remote);
          if (transport.chunk !== null && !socket.write(encodeAck(transport.chunk))) await once(socket, 'drain');
        }
      }
    } catch (error) {
      const known = error instanceof ProtocolViolation || error instanceof FrameError || error instanceof AuditShipError;
      const reason = known ? error.message : `bad frame: ${(error as Error).message}`;
      this.emit('connection-error', remote, reason);
      socket.destroy();
    }
  }

  /** Answers PING with PONG; on failure the PONG says why and the connection ends after it. */
  private checkPing(socket: Socket, message: unknown, nonce: Buffer, authSalt: Buffer | null): boolean {
    const security = this.options.security!;
    const ping = parsePing(message);
    const reject = (reason: string) => {
      socket.end(encodePong({ authenticated: false, reason, serverHostname: '', digest: '' }));
      this.emit('connection-error', `${socket.remoteAddress}:${socket.remotePort}`, reason);
      return false;
    };
    if (!ping) return reject('invalid ping message');
    const [, hostname, salt, digest, username, password] = ping;
    if (digest !== sharedKeyDigest(salt, hostname, nonce, security.sharedKey)) return reject('shared_key mismatch');
    if (authSalt) {
      const expected = Object.hasOwn(security.users, username) ? security.users[username]! : null;
      if (expected === null || password !== passwordDigest(authSalt, username, expected)) return reject('username/password mismatch');
    }
    socket.write(
      encodePong({
        authenticated: true,
        reason: '',
        serverHostname: security.serverHostname,
        digest: sharedKeyDigest(salt, security.serverHostname, nonce, security.sharedKey),
      }),
    );
    return true;
  }
}
