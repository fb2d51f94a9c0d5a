/**
 * A server with a message size limit that ends the connection when a message outgrows it, as Fluent
 * Bit's forward input does over its Buffer_Max_Size ("incoming data exceed limit"): the chunk sent
 * again meets the same end each time. Read with @msgpack/msgpack, not with audit-ship's decoder.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { decodeMultiStream, encode } from '@msgpack/msgpack';
import { sampleRecords } from '../../src/sample/generate.js';
import { runCli } from '../helpers/cli.js';
import { testPeer } from '../helpers/net.js';

interface LimitedServer {
  port: number;
  connections: number;
  acked: number;
}

/**
 * Ends a connection (with a reset: its bytes unread) once the message being read outgrows `limit`
 * bytes; from connection `liftedAfter` + 1 on, there is no limit.
 */
async function limitedServer(t: TestContext, limit: number, liftedAfter = Infinity): Promise<LimitedServer> {
  const state: LimitedServer = { port: 0, connections: 0, acked: 0 };
  state.port = await testPeer(t, (socket) => {
    const limited = ++state.connections <= liftedAfter;
    const input = new PassThrough();
    let unread = 0;
    socket.on('data', (data: Buffer) => {
      unread += data.length;
      if (limited && unread > limit) return socket.resetAndDestroy();
      input.write(data);
    });
    socket.on('close', () => input.end());
    void (async () => {
      for await (const message of decodeMultiStream(input)) {
        unread = Math.max(0, unread - encode(message).length);
        const option = (message as [string, Uint8Array, { chunk: string }])[2];
        state.acked++;
        socket.write(encode({ ack: option.chunk }));
      }
    })().catch(() => socket.destroy());
  });
  return state;
}

const lines = (n: number) => [...sampleRecords(n, { seed: 58, start: 1632312000 })].map((r) => `${JSON.stringify(r)}\n`).join('');

describe('a server that ends the connection on a message over its size limit', () => {
  it('names the chunk that was in flight at each end, with its size', async (t) => {
    const server = await limitedServer(t, 100_000);
    const res = await runCli(['--port', String(server.port), '--retry-timeout', '3s', '-'], { input: lines(300) });
    assert.equal(res.code, 3, res.stderr);
    assert.equal(server.acked, 0);
    assert.ok(server.connections >= 3, `${server.connections} connections`);
    const hint =
      /does the server take no message that big\? chunk \S+ of (\d+) bytes was in flight at each of the (\d+) connections it ended/;
    const first = res.stderr.split('\n').find((l) => hint.test(l));
    assert.ok(first, res.stderr);
    const [, bytes, times] = hint.exec(first)!;
    assert.ok(Number(bytes) > 100_000, `${bytes} bytes`);
    assert.equal(times, '3', 'said from the third end on');
    assert.match(res.stderr, /gave up: .*no message that big.*raise that limit \(a chunk keeps its size in the spool\)/);
    assert.match(res.stderr, /300 records were not acked and stay in the spool/);
  });

  it('does not call a small chunk too big, however often its connection ends', async (t) => {
    const server = await limitedServer(t, 100);
    const res = await runCli(['--port', String(server.port), '--retry-timeout', '3s', '-'], { input: lines(3) });
    assert.equal(res.code, 3, res.stderr);
    assert.ok(server.connections >= 3, `${server.connections} connections`);
    assert.doesNotMatch(res.stderr, /no message that big/);
  });

  it('does not call a chunk too big when only two connections end with it in flight', async (t) => {
    // A server killed twice while one chunk was in flight, as a chaos run does, then back.
    const server = await limitedServer(t, 100_000, 2);
    const res = await runCli(['--port', String(server.port), '--summary', 'json', '-'], { input: lines(300) });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(server.connections, 3);
    assert.match(res.stderr, /reset before the server sent anything/);
    assert.doesNotMatch(res.stderr, /no message that big/);
  });

  it('delivers chunks under the limit, each acked', async (t) => {
    const server = await limitedServer(t, 100_000);
    const res = await runCli(['--port', String(server.port), '--chunk-bytes', '32k', '--summary', 'json', '-'], { input: lines(300) });
    assert.equal(res.code, 0, res.stderr);
    const summary = JSON.parse(res.stderr.trim().split('\n').at(-1)!) as { recordsAcked: number; chunksAcked: number };
    assert.equal(summary.recordsAcked, 300);
    assert.equal(server.acked, summary.chunksAcked);
  });
});
