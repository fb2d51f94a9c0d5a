/** The sender under receiver faults: nothing acked is lost, nothing unacked is forgotten. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ConnectError, DeliveryError, RetryTimeoutError } from '../../src/forward/errors.js';
import { Sender } from '../../src/forward/sender.js';
import { FaultServer, type AckAction, type ChunkContext } from '../helpers/fault-server.js';
import { chunksOf, senderOptions } from '../helpers/forward.js';
import { waitFor } from '../helpers/ship-cli.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function faultServer(decide: (ctx: ChunkContext) => AckAction): Promise<FaultServer> {
  const s = new FaultServer(decide);
  await s.listen();
  cleanup.push(() => s.close());
  return s;
}

function track(sender: Sender) {
  const stats = { resends: 0, acked: 0, connects: 0 };
  sender.on('resend', () => stats.resends++);
  sender.on('acked', () => stats.acked++);
  sender.on('state', (s) => s === 'connected' && stats.connects++);
  cleanup.push(() => sender.close(0));
  return stats;
}

/** Every sent RequestID arrived at least once, with its own event time. */
function assertAllArrived(server: FaultServer, times: Map<string, [number, number]>): void {
  const seen = new Map<string, [number, number]>();
  for (const r of server.records) seen.set(r.record.RequestID as string, [r.seconds, r.nanoseconds]);
  for (const [id, time] of times) assert.deepEqual(seen.get(id), time, `record ${id} arrived`);
}

describe('sender under faults', () => {
  it('resends when the server drops the connection before acking', async () => {
    const server = await faultServer(({ connection }) => (connection === 1 ? 'drop' : 'ack'));
    const { chunks, times } = chunksOf(200, 50);
    const sender = new Sender(senderOptions(server.port));
    const stats = track(sender);
    await Promise.all(chunks.map((c) => sender.send(c)));
    assertAllArrived(server, times);
    assert.ok(stats.connects >= 2, 'reconnected');
    assert.ok(stats.resends >= 1, 'resent what was in flight');
    assert.equal(stats.acked, chunks.length);
  });

  it('resends when an ack comes later than the ack timeout', async () => {
    const server = await faultServer(({ connection }) => (connection === 1 ? { delayMs: 800 } : 'ack'));
    const { chunks, times } = chunksOf(100, 50);
    const sender = new Sender(senderOptions(server.port, { ackTimeoutMs: 150 }));
    const stats = track(sender);
    await Promise.all(chunks.map((c) => sender.send(c)));
    assertAllArrived(server, times);
    assert.ok(stats.resends >= 1);
    assert.ok(server.connections >= 2);
  });

  it('matches acks that arrive out of order', async () => {
    const server = await faultServer(() => 'hold');
    const { chunks, times } = chunksOf(200, 50);
    const sender = new Sender(senderOptions(server.port, { window: 4 }));
    const stats = track(sender);
    const acked: string[] = [];
    sender.on('acked', (c) => acked.push(c.id));
    const all = Promise.all(chunks.map((c) => sender.send(c)));
    await waitFor(() => server.held.length >= 4, 'four chunks held by the server');
    server.release('reverse');
    await all;
    assertAllArrived(server, times);
    assert.deepEqual(acked, chunks.map((c) => c.id).reverse());
    assert.equal(stats.resends, 0, 'nothing was resent');
  });

  it('keeps at most `window` chunks in flight', async () => {
    const server = await faultServer(() => 'hold');
    const { chunks } = chunksOf(300, 30);
    const sender = new Sender(senderOptions(server.port, { window: 3 }));
    track(sender);
    const all = Promise.all(chunks.map((c) => sender.send(c)));
    await waitFor(() => server.held.length >= 3, 'three chunks held by the server');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(server.chunks.length, 3, 'no fourth chunk before an ack');
    assert.equal(sender.inFlightCount, 3);
    const release = setInterval(() => server.release(), 5);
    await all;
    clearInterval(release);
    assert.equal(server.chunks.length, 10);
  });

  it('resends when the server never acks on the first connection', async () => {
    const server = await faultServer(({ connection }) => (connection === 1 ? 'hold' : 'ack'));
    const { chunks, times } = chunksOf(150, 50);
    const sender = new Sender(senderOptions(server.port, { ackTimeoutMs: 200 }));
    const stats = track(sender);
    await Promise.all(chunks.map((c) => sender.send(c)));
    assertAllArrived(server, times);
    assert.ok(stats.resends >= 3, `every unacked chunk is resent (${stats.resends})`);
    const second = server.chunks.filter((c) => c.connection > 1).map((c) => c.chunk);
    assert.deepEqual(
      second.slice(0, 3),
      chunks.slice(0, 3).map((c) => c.id),
      'resent in order, with the same chunk ids',
    );
  });

  it('close() waits for acks up to its timeout, returns what was not acked and leaves no listeners', async () => {
    const server = await faultServer(() => 'hold');
    const { chunks } = chunksOf(20, 10);
    const sender = new Sender(senderOptions(server.port));
    const sends = chunks.map((c) => sender.send(c).catch((e: Error) => e));
    await waitFor(() => server.held.length >= 2, 'two chunks held by the server');
    const unacked = await sender.close(300);
    assert.deepEqual(
      unacked.map((c) => c.id),
      chunks.map((c) => c.id),
    );
    assert.equal(sender.listenerCount('acked'), 0, 'no listener left behind by the wait');
    for (const result of await Promise.all(sends)) assert.ok(result instanceof DeliveryError);
  });

  it('sends everything to the server that is up when another is down', async () => {
    const dead = await faultServer(() => 'ack');
    const deadPort = dead.port;
    await dead.close();
    const live = await faultServer(() => 'ack');
    const { chunks, times } = chunksOf(50, 50);
    const sender = new Sender(
      senderOptions(live.port, {
        endpoints: [
          { host: '127.0.0.1', port: deadPort },
          { host: '127.0.0.1', port: live.port },
        ],
      }),
    );
    const errors: string[] = [];
    sender.on('connect-error', (e) => errors.push(e.code));
    track(sender);
    await Promise.all(chunks.map((c) => sender.send(c)));
    assertAllArrived(live, times);
    assert.deepEqual(errors.slice(0, 1), [new ConnectError('').code]);
  });

  it('waits for a receiver that comes up later', async () => {
    const placeholder = await faultServer(() => 'ack');
    const port = placeholder.port;
    await placeholder.close();
    const { chunks, times } = chunksOf(100, 25);
    const sender = new Sender(senderOptions(port));
    const errors: string[] = [];
    sender.on('connect-error', (e) => errors.push(e.message));
    track(sender);
    const all = Promise.all(chunks.map((c) => sender.send(c)));
    await waitFor(() => errors.length >= 2, 'two connect errors');
    const late = new FaultServer(() => 'ack');
    await late.listen(port);
    cleanup.push(() => late.close());
    await all;
    assertAllArrived(late, times);
    assert.match(errors[0]!, /cannot connect to 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });

  it('gives up after --retry-timeout with a DeliveryError and keeps the chunks', async () => {
    const placeholder = await faultServer(() => 'ack');
    const port = placeholder.port;
    await placeholder.close();
    const sender = new Sender(senderOptions(port, { retryTimeoutMs: 200 }));
    track(sender);
    const { chunks } = chunksOf(10, 10);
    await assert.rejects(sender.send(chunks[0]!), DeliveryError);
  });

  it('backs off from a server that accepts and then drops every connection, and gives up after --retry-timeout', async () => {
    const server = await faultServer(() => 'drop');
    const sender = new Sender(senderOptions(server.port, { retryTimeoutMs: 600, backoff: { initialMs: 100, maxMs: 200 } }));
    const lost: number[] = [];
    sender.on('connection-lost', (_error, resending) => lost.push(resending));
    track(sender);
    const { chunks } = chunksOf(10, 10);
    await assert.rejects(sender.send(chunks[0]!), DeliveryError);
    assert.ok(lost.length >= 1 && lost.every((n) => n === 1), 'each loss reports the chunk to resend');
    // Without a backoff between barren connections this loop reconnects thousands of times.
    assert.ok(server.connections <= 12, `${server.connections} connections`);
  });

  it('counts --retry-timeout from when a chunk starts waiting, not from the last ack before an idle spell', async () => {
    const server = await faultServer(() => 'ack');
    const port = server.port;
    const sender = new Sender(senderOptions(port, { retryTimeoutMs: 1500 }));
    track(sender);
    const [first, second] = chunksOf(20, 10).chunks;
    await sender.send(first!);
    await new Promise((r) => setTimeout(r, 1700)); // idle for longer than the retry timeout
    await server.close();
    const delivered = sender.send(second!);
    await new Promise((r) => setTimeout(r, 200)); // a short outage, well within the timeout
    const back = new FaultServer(() => 'ack');
    await back.listen(port);
    cleanup.push(() => back.close());
    await delivered;
    assert.equal(back.records.length, 10);
  });

  it('names a host that does not resolve, as the reason it gave up', async () => {
    const sender = new Sender(senderOptions(24224, { endpoints: [{ host: 'no-such-host.invalid', port: 24224 }], retryTimeoutMs: 1 }));
    const retried: string[] = [];
    sender.on('connect-error', (e) => retried.push(e.message));
    track(sender);
    const { chunks } = chunksOf(1, 1);
    const error = await sender.send(chunks[0]!).then(
      () => assert.fail('delivered'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RetryTimeoutError);
    assert.match(error.lastFailure?.message ?? '', /cannot resolve no-such-host\.invalid/);
    assert.deepEqual(retried, [], 'the try that ends the wait is not said to be retried');
  });
});
