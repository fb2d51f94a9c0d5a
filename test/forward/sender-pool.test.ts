/**
 * The sender's pool as a library: a name that resolves to several addresses is one server per
 * address, and follows a change of the answer. The lookup is injected (an answer set by the test);
 * the servers are real sockets on three loopback addresses.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Sender } from '../../src/forward/sender.js';
import { FaultServer } from '../helpers/fault-server.js';
import { chunksOf, senderOptions } from '../helpers/forward.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/ship-cli.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** Acking servers on 127.0.0.1, .2 and .3, all on one port, as the pods behind a headless Service. */
async function pods(): Promise<{ port: number; at: Map<string, FaultServer> }> {
  const port = await freePort();
  const at = new Map<string, FaultServer>();
  for (const address of ['127.0.0.1', '127.0.0.2', '127.0.0.3']) {
    const s = new FaultServer(() => 'ack');
    await s.listen(port, address);
    cleanup.push(() => s.close());
    at.set(address, s);
  }
  return { port, at };
}

function pool(port: number, lookup: (host: string) => Promise<string[]>, dnsRefreshMs = 50): Sender {
  const sender = new Sender(senderOptions(port, { endpoints: [{ host: 'aggregator.logging.svc', port }], lookup, dnsRefreshMs }));
  cleanup.push(() => sender.close(0));
  return sender;
}

const labels = (sender: Sender) => sender.servers().map((l) => l.label);

describe('a name with several addresses', () => {
  it('is one server per address, balanced, and follows a change of the answer', async () => {
    const { port, at } = await pods();
    let answer = ['127.0.0.1', '127.0.0.2'];
    const asked: string[] = [];
    const sender = pool(port, async (host) => {
      asked.push(host);
      return answer;
    });
    const first = chunksOf(400, 10, { seed: 1 }).chunks;
    await Promise.all(first.map((c) => sender.send(c)));
    assert.deepEqual(asked[0], 'aggregator.logging.svc');
    assert.deepEqual(labels(sender), [`aggregator.logging.svc@127.0.0.1:${port}`, `aggregator.logging.svc@127.0.0.2:${port}`]);
    assert.equal(at.get('127.0.0.1')!.records.length + at.get('127.0.0.2')!.records.length, 400);
    for (const a of ['127.0.0.1', '127.0.0.2']) assert.ok(at.get(a)!.records.length >= 160, `${a} got its share`);

    answer = ['127.0.0.2', '127.0.0.3'];
    await waitFor(
      () => labels(sender).includes(`aggregator.logging.svc@127.0.0.3:${port}`) && labels(sender).length === 2,
      'the new answer',
    );
    const before = at.get('127.0.0.1')!.records.length;
    const second = chunksOf(400, 10, { seed: 2 }).chunks;
    await Promise.all(second.map((c) => sender.send(c)));
    assert.equal(at.get('127.0.0.1')!.records.length, before, 'the address no longer listed is drained, sent nothing new');
    assert.ok(at.get('127.0.0.3')!.records.length >= 160, 'the new address got its share');
  });

  it('keeps the servers it knows when a lookup fails, and says so', async () => {
    const { port, at } = await pods();
    let fail = false;
    const sender = pool(port, async () => {
      if (fail) throw new Error('queryA ETIMEOUT aggregator.logging.svc');
      return ['127.0.0.1', '127.0.0.2'];
    });
    const errors: string[] = [];
    sender.on('connect-error', (e) => errors.push(e.message));
    await sender.start();
    await waitFor(() => sender.servers().filter((l) => l.state === 'up').length === 2, 'both servers up');
    fail = true;
    await waitFor(() => errors.length > 0, 'a failed lookup');
    assert.match(errors[0]!, /cannot resolve aggregator\.logging\.svc: queryA ETIMEOUT .*keeping its 2 known addresses/);
    await Promise.all(chunksOf(100, 10).chunks.map((c) => sender.send(c)));
    assert.equal(labels(sender).length, 2);
    assert.equal(at.get('127.0.0.1')!.records.length + at.get('127.0.0.2')!.records.length, 100);
  });

  it('retries a name that does not resolve yet, and ships once it does', async () => {
    const { port, at } = await pods();
    let answer: string[] = [];
    const sender = pool(port, async () => answer, 0);
    const errors: string[] = [];
    sender.on('connect-error', (e) => errors.push(e.message));
    const sent = Promise.all(chunksOf(50, 10).chunks.map((c) => sender.send(c)));
    await waitFor(() => errors.length > 0, 'a failed lookup');
    assert.match(errors[0]!, /cannot resolve aggregator\.logging\.svc: no addresses/);
    answer = ['127.0.0.3'];
    await sent;
    assert.equal(at.get('127.0.0.3')!.records.length, 50);
  });
});

describe('a standby', () => {
  it('takes over each time the regular server goes down, and is let go each time it is back', async () => {
    const standby = new FaultServer(() => 'ack');
    await standby.listen();
    cleanup.push(() => standby.close());
    let regular = new FaultServer(() => 'ack');
    const port = await regular.listen();
    const sender = new Sender(senderOptions(port, { standby: [{ host: '127.0.0.1', port: standby.port }] }));
    cleanup.push(() => sender.close(0));
    const state = (p: number) => sender.servers().find((l) => l.endpoint.port === p)?.state;
    const batch = (seed: number) => Promise.all(chunksOf(40, 10, { seed }).chunks.map((c) => sender.send(c)));
    let atStandby = 0;
    for (const round of [1, 2]) {
      await batch(round * 10);
      assert.equal(standby.records.length, atStandby, `round ${round}: nothing to the standby while the regular server is up`);
      await regular.close();
      await batch(round * 10 + 1);
      assert.equal(standby.records.length, atStandby + 40, `round ${round}: the standby took over`);
      atStandby += 40;
      regular = new FaultServer(() => 'ack');
      await regular.listen(port);
      cleanup.push(() => regular.close());
      await waitFor(() => state(port) === 'up' && state(standby.port) === 'idle', `round ${round}: the regular server back`);
    }
  });
});
