/**
 * The fast counting sink the shipping benchmarks share: a forward receiver in its own process that
 * acks every chunk that asks for one and counts every event by walking the msgpack (Message,
 * Forward and PackedForward modes, gzip or not). It prints its port on start and the count on SIGTERM.
 */
import { createServer, type Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { decode, encode, ExtensionCodec } from '@msgpack/msgpack';
import { cpuSeconds } from '../src/cli/units.js';

const codec = new ExtensionCodec();
codec.register({ type: 0, encode: () => null, decode: () => 0 });
let events = 0;
let bytes = 0;
/** When the last event arrived (epoch ms): the end of delivery for a peer whose exit comes later. */
let lastEventAt = 0;

/** Where the msgpack value at `at` ends: walks the structure without building anything. */
function skip(b: Uint8Array, at: number): number {
  const t = b[at]!;
  const view = () => new DataView(b.buffer, b.byteOffset + at + 1);
  if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) return at + 1;
  if (t >= 0x80 && t <= 0x8f) return skipMany(b, at + 1, (t & 0x0f) * 2);
  if (t >= 0x90 && t <= 0x9f) return skipMany(b, at + 1, t & 0x0f);
  if (t >= 0xa0 && t <= 0xbf) return at + 1 + (t & 0x1f);
  switch (t) {
    case 0xc4:
    case 0xd9:
      return at + 2 + b[at + 1]!;
    case 0xc5:
    case 0xda:
      return at + 3 + view().getUint16(0);
    case 0xc6:
    case 0xdb:
      return at + 5 + view().getUint32(0);
    case 0xc7:
      return at + 3 + b[at + 1]!;
    case 0xc8:
      return at + 4 + view().getUint16(0);
    case 0xc9:
      return at + 6 + view().getUint32(0);
    case 0xca:
    case 0xce:
    case 0xd2:
      return at + 5;
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return at + 9;
    case 0xcc:
    case 0xd0:
      return at + 2;
    case 0xcd:
    case 0xd1:
      return at + 3;
    case 0xd4:
      return at + 3;
    case 0xd5:
      return at + 4;
    case 0xd6:
      return at + 6;
    case 0xd7:
      return at + 10;
    case 0xd8:
      return at + 18;
    case 0xdc:
      return skipMany(b, at + 3, view().getUint16(0));
    case 0xdd:
      return skipMany(b, at + 5, view().getUint32(0));
    case 0xde:
      return skipMany(b, at + 3, view().getUint16(0) * 2);
    case 0xdf:
      return skipMany(b, at + 5, view().getUint32(0) * 2);
    default:
      throw new Error(`not msgpack: type byte 0x${t.toString(16)}`);
  }
}

function skipMany(b: Uint8Array, at: number, count: number): number {
  for (let i = 0; i < count; i++) at = skip(b, at);
  return at;
}

/** Counts the `[time, record]` entries of a PackedForward stream by walking each one. */
function countPacked(entries: Uint8Array): number {
  let n = 0;
  for (let at = 0; at < entries.length; n++) at = skip(entries, at);
  return n;
}

/** Where the value at `at` ends, or -1 when `b` does not hold all of it yet. */
function complete(b: Uint8Array, at: number): number {
  try {
    const end = skip(b, at);
    return end <= b.length ? end : -1;
  } catch {
    return -1; // ran off the end: skip() read a missing byte
  }
}

/** The length of an array header at `at` (fixarray, array 16, array 32) and where its first element starts. */
function arrayHeader(b: Uint8Array, at: number): { count: number; next: number } | null {
  const t = b[at]!;
  if (t >= 0x90 && t <= 0x9f) return { count: t & 0x0f, next: at + 1 };
  const view = new DataView(b.buffer, b.byteOffset);
  if (t === 0xdc && at + 3 <= b.length) return { count: view.getUint16(at + 1), next: at + 3 };
  if (t === 0xdd && at + 5 <= b.length) return { count: view.getUint32(at + 1), next: at + 5 };
  return null;
}

/** A message's option map, if it has one, and where the message ends. */
interface Option {
  end: number;
  value: { chunk?: string; compressed?: string } | undefined;
}

/**
 * One connection's messages, walked without building them: the same cost per event whatever the
 * mode a peer sends. A Forward message's entries are walked one at a time and the walk resumes
 * where it stopped when the rest arrives, so a large message is walked once, not once per read.
 */
class Connection {
  /** Bytes received and not yet handled: `store` from `start` to `end`, grown and compacted in place. */
  private store = Buffer.allocUnsafe(1 << 20);
  private start = 0;
  private end = 0;
  /** The unhandled bytes, where message offsets point. */
  private buf: Buffer = this.store.subarray(0, 0);
  /** A Forward message in progress: where its next entry starts, and how many are left. */
  private forward: { next: number; left: number; count: number } | null = null;

  constructor(private readonly socket: Socket) {}

  feed(data: Buffer): void {
    this.append(data);
    let at = 0;
    for (;;) {
      const end = this.message(at);
      if (end < 0) break;
      at = end;
    }
    this.start += at;
    if (this.forward) this.forward.next -= at;
    this.buf = this.store.subarray(this.start, this.end);
  }

  /** Copies data in after what is waiting: each byte is copied about once, however many reads a message takes. */
  private append(data: Buffer): void {
    if (this.end + data.length > this.store.length) {
      const waiting = this.end - this.start;
      let size = this.store.length;
      while (waiting + data.length > size) size *= 2;
      if (size === this.store.length) {
        this.store.copyWithin(0, this.start, this.end);
      } else {
        const next = Buffer.allocUnsafe(size);
        this.store.copy(next, 0, this.start, this.end);
        this.store = next;
      }
      this.start = 0;
      this.end = waiting;
    }
    data.copy(this.store, this.end);
    this.end += data.length;
    this.buf = this.store.subarray(this.start, this.end);
  }

  /** Handles the message at `at`; returns where it ends, or -1 until all of it is here. */
  private message(at: number): number {
    const b = this.buf;
    const top = at < b.length ? arrayHeader(b, at) : null;
    if (!top) return -1;
    const tagEnd = complete(b, top.next);
    if (tagEnd < 0 || tagEnd >= b.length) return -1;
    const t = b[tagEnd]!;
    if ((t >= 0xc4 && t <= 0xc6) || (t >= 0xa0 && t <= 0xbf) || (t >= 0xd9 && t <= 0xdb)) {
      // PackedForward: the entries are one bin or str, counted once all of it is here.
      const bodyEnd = complete(b, tagEnd);
      const option = bodyEnd < 0 ? null : this.option(bodyEnd, top.count > 2);
      if (!option) return -1;
      const raw = b.subarray(bodyEnd - binLength(b, tagEnd), bodyEnd);
      return this.done(countPacked(option.value?.compressed === 'gzip' ? gunzipSync(raw) : raw), option);
    }
    if ((t >= 0x90 && t <= 0x9f) || t === 0xdc || t === 0xdd) {
      // Forward: walk the entries one by one, resuming after the last whole one.
      const entries = arrayHeader(b, tagEnd);
      if (!entries) return -1;
      this.forward ??= { next: entries.next, left: entries.count, count: entries.count };
      while (this.forward.left > 0) {
        const end = complete(b, this.forward.next);
        if (end < 0) return -1;
        this.forward.next = end;
        this.forward.left--;
      }
      const option = this.option(this.forward.next, top.count > 2);
      if (!option) return -1;
      const count = this.forward.count;
      this.forward = null;
      return this.done(count, option);
    }
    // Message: [tag, time, record, option?].
    const timeEnd = complete(b, tagEnd);
    const recordEnd = timeEnd < 0 ? -1 : complete(b, timeEnd);
    const option = recordEnd < 0 ? null : this.option(recordEnd, top.count > 3);
    if (!option) return -1;
    return this.done(1, option);
  }

  /**
   * The option map at `at` if the message has one (`present`), decoded (it is small), and where the
   * message ends; null until all of it is here.
   */
  private option(at: number, present: boolean): Option | null {
    if (!present) return { end: at, value: undefined };
    const end = complete(this.buf, at);
    if (end < 0) return null;
    return { end, value: decode(this.buf.subarray(at, end), { extensionCodec: codec }) as Option['value'] };
  }

  /** Counts a whole message's events, acks it if it asks, and returns where it ends. */
  private done(count: number, option: Option): number {
    events += count;
    lastEventAt = Date.now();
    if (option.value?.chunk) this.socket.write(encode({ ack: option.value.chunk }));
    return option.end;
  }
}

/** The payload length of the bin or str whose header is at `at`. */
function binLength(b: Uint8Array, at: number): number {
  const t = b[at]!;
  const view = new DataView(b.buffer, b.byteOffset);
  if (t >= 0xa0 && t <= 0xbf) return t & 0x1f;
  if (t === 0xc4 || t === 0xd9) return b[at + 1]!;
  if (t === 0xc5 || t === 0xda) return view.getUint16(at + 1);
  return view.getUint32(at + 1);
}

function handle(socket: Socket): void {
  const connection = new Connection(socket);
  socket.on('error', () => {});
  socket.on('data', (d: Buffer) => {
    bytes += d.length;
    connection.feed(d);
  });
}

const server = createServer(handle).listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ events, bytes, cpuSeconds: cpuSeconds(), lastEventAt })}\n`);
  process.exit(0);
});
