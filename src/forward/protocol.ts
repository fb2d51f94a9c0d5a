/**
 * Fluentd Forward Protocol v1, encoding and decoding only (no I/O). Wire types are named after the
 * specification: Message, Forward, PackedForward and CompressedPackedForward modes, chunk acks, and
 * the HELO / PING / PONG handshake with shared key and user authentication.
 */
import { createHash } from '../crypto.js';
import { Encoder } from '@msgpack/msgpack';
import { EventTime } from './event-time.js';
import { eventTimeCodec } from './event-time-codec.js';
import { binHeader, fixarrayHeader, strHeader } from '../msgpack/types.js';
import { newChunkId, type ChunkId } from './chunk-id.js';

export { newChunkId, type ChunkId };

export type Tag = string;
export type Time = EventTime | number;
export type EventRecord = Record<string, unknown>;
export type Entry = [Time, EventRecord];

export interface TransportOption {
  size?: number;
  chunk?: ChunkId;
  compressed?: 'gzip' | 'text';
}

export type MessageMode = [Tag, Time, EventRecord, TransportOption?];
export type ForwardMode = [Tag, Entry[], TransportOption?];
export type PackedForwardMode = [Tag, Uint8Array, TransportOption?];

export interface Helo {
  nonce: Uint8Array;
  auth: Uint8Array;
  keepalive: boolean;
}
/** `['PING', self_hostname, shared_key_salt, digest, username, password_digest]`; the salt as its bytes. */
export type PingMessage = ['PING', string, Uint8Array, string, string, string];
export interface Pong {
  authenticated: boolean;
  reason: string;
  serverHostname: string;
  digest: string;
}

const encoder = new Encoder({ extensionCodec: eventTimeCodec, ignoreUndefined: true });

export function encodeMessage(value: unknown): Buffer {
  const bytes = encoder.encode(value);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// --- PackedForward -------------------------------------------------------------------------------

/**
 * `[tag, bin(entries), {size, chunk[, compressed: "gzip"]}]`, as three buffers so that a large
 * entries buffer is written to the socket as it is, never copied into a frame.
 * `entries` is a msgpack stream of `[time, record]` pairs, gzip-compressed when `compressed` is set.
 */
export function encodePackedForward(tag: Tag, entries: Buffer, option: { size: number; chunk: ChunkId; compressed?: 'gzip' }): Buffer[] {
  const tagBytes = Buffer.from(tag, 'utf8');
  const head = Buffer.concat([Buffer.from([fixarrayHeader(3)]), strHeader(tagBytes.length), tagBytes, binHeader(entries.length)]);
  return [head, entries, encodeMessage(option)];
}

// --- Handshake -----------------------------------------------------------------------------------

function sha512Hex(...parts: (string | Uint8Array)[]): string {
  const hash = createHash('sha512');
  for (const p of parts) hash.update(p);
  return hash.digest('hex');
}

/** `hex(sha512(shared_key_salt + self_hostname + nonce + shared_key))`: proves the shared key in PING and PONG. */
export function sharedKeyDigest(salt: string | Uint8Array, hostname: string, nonce: Uint8Array | string, sharedKey: string): string {
  return sha512Hex(salt, hostname, nonce, sharedKey);
}

/** `hex(sha512(auth_salt + username + password))`: user authentication in PING. */
export function passwordDigest(authSalt: Uint8Array | string, username: string, password: string): string {
  return sha512Hex(authSalt, username, password);
}

/*
 * Nonces and salts are random bytes, which peers send as bin (Fluentd) or as str (Fluent Bit packs
 * its 16 random bytes as a str). A str decoded as UTF-8 loses every byte that is not, and a digest
 * over the decoded text then matches nothing: handshake messages are decoded with their strings
 * as bytes (`rawStrings`), the random ones kept as they came and the rest read as text here.
 */
function asBytes(value: unknown): Uint8Array | null {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return null;
}

/** A str decoded as text or as bytes, as text; null for anything else. */
export function asText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  return null;
}

/** Parses `['HELO', {nonce, auth, keepalive}]`; null when the message is not a HELO. */
export function parseHelo(message: unknown): Helo | null {
  if (!Array.isArray(message) || message.length !== 2 || asText(message[0]) !== 'HELO') return null;
  const options = (message[1] ?? {}) as Record<string, unknown>;
  const nonce = asBytes(options.nonce);
  if (!nonce) return null;
  return { nonce, auth: asBytes(options.auth) ?? new Uint8Array(0), keepalive: options.keepalive !== false };
}

export interface PingInput {
  selfHostname: string;
  sharedKey: string;
  sharedKeySalt: string;
  helo: Helo;
  username?: string | undefined;
  password?: string | undefined;
}

/**
 * `['PING', self_hostname, shared_key_salt, digest, username, password_digest]`.
 * in_forward sends an auth salt whenever `<security>` is on, with or without `user_auth`, so a
 * salt does not mean credentials are required: like Fluentd's out_forward we always answer it,
 * with empty credentials when none are set, and let the server decide.
 */
export function encodePing(p: PingInput): Buffer {
  const digest = sharedKeyDigest(p.sharedKeySalt, p.selfHostname, p.helo.nonce, p.sharedKey);
  const userAuth = p.helo.auth.length > 0;
  const username = userAuth ? (p.username ?? '') : '';
  const password = userAuth ? passwordDigest(p.helo.auth, username, p.password ?? '') : '';
  return encodeMessage(['PING', p.selfHostname, p.sharedKeySalt, digest, username, password]);
}

/** Parses PING. Like in_forward, a nil username or password digest reads as '' (fluent-logger sends nil). */
export function parsePing(message: unknown): PingMessage | null {
  if (!Array.isArray(message) || message.length !== 6 || asText(message[0]) !== 'PING') return null;
  const [hostname, digest] = [asText(message[1]), asText(message[3])];
  const salt = asBytes(message[2]);
  const username = message[4] === null ? '' : asText(message[4]);
  const password = message[5] === null ? '' : asText(message[5]);
  if (hostname === null || salt === null || digest === null || username === null || password === null) return null;
  return ['PING', hostname, salt, digest, username, password];
}

/** `['PONG', auth_result, reason, server_hostname, digest]`. */
export function encodePong(pong: Pong): Buffer {
  return encodeMessage(['PONG', pong.authenticated, pong.reason, pong.serverHostname, pong.digest]);
}

export function parsePong(message: unknown): Pong | null {
  if (!Array.isArray(message) || message.length !== 5 || asText(message[0]) !== 'PONG') return null;
  const [, authenticated, reason, serverHostname, digest] = message as unknown[];
  if (typeof authenticated !== 'boolean') return null;
  const text = (value: unknown) => asText(value) ?? String(value ?? '');
  return { authenticated, reason: text(reason), serverHostname: text(serverHostname), digest: text(digest) };
}

/** The server proves it knows the shared key too: its digest uses its own hostname and our salt. */
export function pongDigestMatches(pong: Pong, salt: string, nonce: Uint8Array, sharedKey: string): boolean {
  return pong.digest === sharedKeyDigest(salt, pong.serverHostname, nonce, sharedKey);
}

// --- Acks ----------------------------------------------------------------------------------------

/** The chunk id of `{ack: chunk}`, or null when the message is not an ack. */
export function parseAck(message: unknown): ChunkId | null {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return null;
  const ack = (message as Record<string, unknown>).ack;
  if (typeof ack === 'string') return ack;
  if (ack instanceof Uint8Array) return Buffer.from(ack).toString('latin1');
  return null;
}

export function encodeAck(chunk: ChunkId): Buffer {
  return encodeMessage({ ack: chunk });
}
