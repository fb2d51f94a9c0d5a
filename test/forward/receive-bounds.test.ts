/**
 * `audit-ship receive` under hostile clients: gzip bombs, swarms of tiny entries, huge frames,
 * unauthenticated floods, and a seeded fuzz of random and mutated frames. The process stays up,
 * its peak memory stays under a stated bound, and a well-behaved client keeps getting its acks.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { decode, encode } from '@msgpack/msgpack';
import { EventTime } from '../../src/forward/event-time.js';
import { eventTimeCodec } from '../../src/forward/event-time-codec.js';
import { MAX_RECORD_DEPTH } from '../../src/msgpack/writer.js';
import { prng } from '../../src/sample/generate.js';
import { nested } from '../helpers/ledger.js';
import { receivers, type RunningReceiver } from '../helpers/receive-cli.js';
import { waitFor } from '../helpers/ship-cli.js';

const receiver = receivers();

/** The bound stated in the README for `receive`: peak RSS under hostile input, 8 × its 80 MB message limit. */
const PEAK_RSS_BOUND = 640 * 1024 * 1024;

function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

const entry = (n: number) => encode([1632312000 + n, { RequestID: `id-${n}`, n }]);

function packedForward(id: string, entries: Buffer, compressed = false): Buffer {
  return Buffer.from(encode(['audit', entries, { chunk: id, size: 1, ...(compressed ? { compressed: 'gzip' } : {}) }]));
}

/** A client that sends one good chunk at a time and waits for its ack. */
class GoodClient {
  private readonly socket: Socket;
  private buffered = Buffer.alloc(0);
  private waiting: ((ack: string) => void) | null = null;
  acked = 0;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (data: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, data]);
      try {
        const reply = decode(this.buffered) as { ack: string };
        this.buffered = Buffer.alloc(0);
        this.waiting?.(reply.ack);
      } catch {
        // not whole yet
      }
    });
  }

  async roundTrip(n: number): Promise<void> {
    const id = Buffer.from(`good-${n}`).toString('base64');
    const ack = new Promise<string>((resolve) => (this.waiting = resolve));
    this.socket.write(packedForward(id, Buffer.from(entry(n))));
    assert.equal(await ack, id);
    this.acked++;
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Sends bytes on a new connection and waits until the receiver closes it (or it was read whole).
 * A receiver that never closes it fails the test after 60 s, instead of hanging it.
 */
async function hostileSend(port: number, bytes: Buffer, waitClose = true): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {}); // a reset from the receiver is what some of these expect
  // What the receiver sends (a HELO) is read and dropped: left unread in a paused socket, it
  // kept 'end', and so 'close', from ever coming when the receiver's close arrived as a FIN
  // rather than a reset (57 of 100 tries against a receiver with a shared key).
  socket.resume();
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.write(bytes);
  if (!waitClose) return void socket.end();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the receiver kept the connection open for 60 s (${socket.bytesWritten} bytes written)`)),
      60_000,
    );
  });
  try {
    await Promise.race([closed, late]);
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

/** Sends one message on a new connection and returns the receiver's reply (its ack). */
async function ackOf(port: number, bytes: Buffer): Promise<unknown> {
  const socket = connect(port, '127.0.0.1');
  try {
    const reply = new Promise<unknown>((resolve, reject) => {
      socket.once('data', (d: Buffer) => resolve(decode(d)));
      socket.once('close', () => reject(new Error('closed without an ack')));
    });
    socket.write(bytes);
    return await reply;
  } finally {
    socket.destroy();
  }
}

function assertAlive(r: RunningReceiver): void {
  assert.equal(r.child.exitCode, null, r.stderr());
  assert.ok(peakRss(r.child.pid!) < PEAK_RSS_BOUND, `peak RSS ${peakRss(r.child.pid!)}`);
}

describe('receive bounds what a client can make it hold', () => {
  it('a gzip bomb (120 MB of tiny entries in ~120 KB) is refused while inflating; others keep getting acks', async () => {
    const r = await receiver();
    const good = new GoodClient(r.port);
    await good.roundTrip(0);
    const bomb = gzipSync(Buffer.alloc(120 * 1024 * 1024, 0x00), { level: 9 });
    await hostileSend(r.port, packedForward('Ym9tYg==', bomb, true));
    await good.roundTrip(1);
    await waitFor(() => /compressed entries inflate to over 83886080 bytes/.test(r.stderr()), 'the refusal in the log');
    assertAlive(r);
    good.close();
  });

  it('a small gzip of millions of tiny entries is refused by the object cap, before any is decoded', async () => {
    const r = await receiver();
    const good = new GoodClient(r.port);
    // [0, {}] is 3 bytes and 3 objects: 30 MB of them is 30 million objects.
    const swarm = gzipSync(Buffer.alloc(30 * 1024 * 1024, Buffer.from([0x92, 0x00, 0x80])), { level: 9 });
    assert.ok(swarm.length < 200 * 1024);
    await hostileSend(r.port, packedForward('c3dhcm0=', swarm, true));
    await good.roundTrip(2);
    await waitFor(() => /more than the 2000000 objects allowed/.test(r.stderr()), 'the refusal in the log');
    assertAlive(r);
    good.close();
  });

  it('a 64 MB frame arriving in pieces is read in linear time and acked, while another client is served', async () => {
    const r = await receiver();
    const good = new GoodClient(r.port);
    const big = Buffer.from(encode([1632312000, { RequestID: 'big', ResponseBody: 'x'.repeat(64 * 1024 * 1024) }]));
    const socket = connect(r.port, '127.0.0.1');
    await once(socket, 'connect');
    const acked = new Promise<unknown>((resolve) => socket.once('data', (d: Buffer) => resolve(decode(d))));
    const frame = packedForward('Ymln', big);
    for (let at = 0; at < frame.length; at += 16 * 1024) {
      if (!socket.write(frame.subarray(at, at + 16 * 1024))) await once(socket, 'drain');
      if (at % (8 * 1024 * 1024) === 0) await good.roundTrip(at);
    }
    assert.deepEqual(await acked, { ack: 'Ymln' });
    assert.ok(good.acked >= 8);
    assertAlive(r);
    socket.destroy();
    good.close();
  });

  it('takes a record as deep as ship sends, in every carrier mode, and refuses one level more', async () => {
    const r = await receiver();
    const deepest = nested(MAX_RECORD_DEPTH - 1);
    const time = new EventTime(1632312000, 0);
    const deep = (record: unknown) => ({ RequestID: 'deep', Deep: record });
    const id = (mode: string) => Buffer.from(mode).toString('base64');
    const entries = Buffer.from(encode([time, deep(deepest)], { extensionCodec: eventTimeCodec, maxDepth: 200 }));
    const messages = {
      message: encode(['audit', time, deep(deepest), { chunk: id('message') }], { extensionCodec: eventTimeCodec, maxDepth: 200 }),
      forward: encode(['audit', [[time, deep(deepest)]], { chunk: id('forward') }], { extensionCodec: eventTimeCodec, maxDepth: 200 }),
      packed: packedForward(id('packed'), entries),
      compressed: packedForward(id('compressed'), gzipSync(entries), true),
    };
    for (const [mode, bytes] of Object.entries(messages))
      assert.deepEqual(await ackOf(r.port, Buffer.from(bytes)), { ack: id(mode) }, mode);
    await waitFor(() => r.events().length === 4, 'the four deep events written');
    for (const e of r.events()) assert.deepEqual(e.record, deep(deepest));

    const deeper = encode(['audit', [[time, deep(nested(MAX_RECORD_DEPTH))]], { chunk: id('deeper') }], {
      extensionCodec: eventTimeCodec,
      maxDepth: 200,
    });
    await hostileSend(r.port, Buffer.from(deeper));
    await waitFor(() => /containers nested deeper than 103/.test(r.stderr()), 'the refusal in the log');
    assert.equal(r.events().length, 4);
    assertAlive(r);
  });

  it('a client that has not authenticated may send only a PING-sized message', async () => {
    const r = await receiver(['--shared-key', 'k']);
    await hostileSend(r.port, Buffer.concat([Buffer.from([0xc6, 0x00, 0x10, 0x00, 0x00]), Buffer.alloc(1024 * 1024)]));
    await waitFor(() => /a message of over \d+ bytes, more than the 4096 allowed/.test(r.stderr()), 'the refusal in the log');
    assertAlive(r);
  });

  it('survives a seeded fuzz of random and mutated frames, and a good client gets every ack', async () => {
    const r = await receiver();
    const good = new GoodClient(r.port);
    const rand = prng(1313);
    const valid = packedForward('dmFsaWQ=', Buffer.concat([entry(1), entry(2), entry(3)]));
    const gz = packedForward('Z3o=', gzipSync(Buffer.concat([entry(4), entry(5)])), true);
    for (let round = 0; round < 300; round++) {
      const kind = rand();
      let bytes: Buffer;
      if (kind < 0.25) {
        bytes = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 4096) }, () => Math.floor(rand() * 256)));
      } else if (kind < 0.5) {
        bytes = Buffer.from(rand() < 0.5 ? valid : gz);
        for (let flips = 1 + Math.floor(rand() * 8); flips > 0; flips--)
          bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      } else if (kind < 0.7) {
        const base = rand() < 0.5 ? valid : gz;
        bytes = base.subarray(0, Math.floor(rand() * base.length));
      } else if (kind < 0.85) {
        // Huge length prefixes and container counts in every header form.
        const headers = [
          [0xc6, 0xff, 0xff, 0xff, 0xff],
          [0xdb, 0x7f, 0xff, 0xff, 0xff],
          [0xdd, 0xff, 0xff, 0xff, 0xff],
          [0xdf, 0x10, 0, 0, 0],
          [0xc9, 0xff, 0xff, 0xff, 0xff, 0],
        ];
        bytes = Buffer.concat([
          Buffer.from([0x93, 0xa1, 0x61]),
          Buffer.from(headers[Math.floor(rand() * headers.length)]!),
          Buffer.alloc(1000),
        ]);
      } else {
        // Deep nesting, and a bomb of another shape.
        bytes = rand() < 0.5 ? Buffer.alloc(100_000, 0x91) : packedForward('YmI=', gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x91)), true);
      }
      await hostileSend(r.port, bytes, false);
      if (round % 10 === 0) await good.roundTrip(round);
    }
    await good.roundTrip(1000);
    assert.equal(good.acked, 31);
    assertAlive(r);
    good.close();
  });
});
