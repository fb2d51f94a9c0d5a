import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { gzipSync } from 'node:zlib';
import { decodeMulti, encode } from '@msgpack/msgpack';
import { startSink } from '../../bench/ship.js';
import { prng } from '../../src/sample/generate.js';

const record = (i: number) => ({ i, text: 'x'.repeat(i % 300), nested: { list: [1, 2, { z: null }] } });
const entries = (n: number) => Array.from({ length: n }, (_, i) => [1632312000 + i, record(i)]);
const packed = (n: number) => Buffer.concat(entries(n).map((e) => encode(e)));
/** A PackedForward message whose entries are a str of raw msgpack bytes, as older clients send them. */
function packedAsStr(n: number): Buffer {
  const raw = packed(n);
  const header = Buffer.alloc(5);
  header[0] = 0xdb;
  header.writeUInt32BE(raw.length, 1);
  return Buffer.concat([Buffer.from([0x92, 0xa1, 0x74]), header, raw]);
}

test('the bench sink counts and acks every mode, whatever pieces the bytes arrive in', async (t) => {
  const sink = await startSink();
  let stopped = false;
  t.after(async () => {
    if (!stopped) await sink.stop();
  });
  const messages: [Uint8Array, number][] = [
    [encode(['t', 1632312000, record(1)]), 1],
    [encode(['t', 1632312000, record(2), { chunk: 'message' }]), 1],
    [encode(['t', entries(50)]), 50],
    [encode(['t', entries(7000), { chunk: 'forward' }]), 7000],
    [encode(['t', packed(3000), { chunk: 'packed' }]), 3000],
    [packedAsStr(10), 10],
    [encode(['t', gzipSync(packed(4000)), { chunk: 'gzip', compressed: 'gzip' }]), 4000],
  ];
  const bytes = Buffer.concat(messages.map(([m]) => m));
  const socket = connect(sink.port, '127.0.0.1');
  await once(socket, 'connect');
  const acks: Buffer[] = [];
  socket.on('data', (d: Buffer) => acks.push(d));
  // Pieces of 1 byte to 70 kB: headers, entries and options are cut everywhere.
  const random = prng(3);
  for (let at = 0; at < bytes.length;) {
    const n = 1 + Math.floor(random() * 70_000);
    socket.write(bytes.subarray(at, at + n));
    at += n;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const expected = ['message', 'forward', 'packed', 'gzip'].map((chunk) => ({ ack: chunk }));
  while ([...decodeMulti(Buffer.concat(acks))].length < expected.length) await once(socket, 'data');
  socket.end();
  stopped = true;
  const counted = await sink.stop();
  assert.equal(counted.events, 1 + 1 + 50 + 7000 + 3000 + 10 + 4000);
  assert.deepEqual([...decodeMulti(Buffer.concat(acks))], expected);
});
