/**
 * The fast counting sink the shipping benchmarks share: a forward receiver in its own process that
 * acks every chunk that asks for one and counts every event by walking the msgpack (Message,
 * Forward and PackedForward modes, gzip or not). It prints its port on start and the count on SIGTERM.
 */
import { createServer, type Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { decodeMultiStream, encode, ExtensionCodec } from '@msgpack/msgpack';
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

function handle(socket: Socket): void {
  socket.on('error', () => {});
  socket.on('data', (d: Buffer) => (bytes += d.length));
  void (async () => {
    for await (const message of decodeMultiStream(socket, { extensionCodec: codec })) {
      const [, second, third, fourth] = message as unknown[];
      let option: { chunk?: string; compressed?: string } | undefined;
      if (second instanceof Uint8Array || typeof second === 'string') {
        option = third as typeof option;
        const raw = typeof second === 'string' ? Buffer.from(second, 'latin1') : second;
        events += countPacked(option?.compressed === 'gzip' ? gunzipSync(raw) : raw);
      } else if (Array.isArray(second)) {
        option = third as typeof option;
        events += second.length;
      } else {
        option = fourth as typeof option;
        events += 1;
      }
      lastEventAt = Date.now();
      if (option?.chunk) socket.write(encode({ ack: option.chunk }));
    }
  })().catch(() => socket.destroy());
}

const server = createServer(handle).listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ events, bytes, cpuSeconds: cpuSeconds(), lastEventAt })}\n`);
  process.exit(0);
});
