/**
 * A pool of Fluentd servers, over real sockets: shares by weight (our receiver, and
 * @fluent-org/logger's FluentServer as an independent peer), a server SIGKILLed mid-run, one that
 * never acks, one that refuses the shared key, and a standby that takes chunks only while the
 * regular server is down.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { FluentServer } from '@fluent-org/logger';
import { runCli, tempDir } from '../helpers/cli.js';
import { FaultServer } from '../helpers/fault-server.js';
import { Ledger } from '../helpers/ledger.js';
import { receivers, type RunningReceiver } from '../helpers/receive-cli.js';
import type { ShipSummary } from '../../src/cli/ship-summary.js';
import { jsonSummary, scrapeUntil, startMeteredShip, startShip, waitFor } from '../helpers/ship-cli.js';

const RECORDS = 100_000;
const receiver = receivers();

class CountingServer extends FluentServer {
  readonly ids: string[] = [];
  protected override onEntry(_tag: string, _time: unknown, record: Record<string, unknown>): void {
    this.ids.push(record.RequestID as string);
  }
}

/** Records at the head of the input always left out of the shares: see assertShares. */
const WARM_UP = 10_000;
/** --chunk-records of the share runs. */
const CHUNK_RECORDS = 500;
/** --window of the share runs: chunks in flight to a server before it must have acked one. */
const WINDOW = 8;

/**
 * Where the shares start: after WARM_UP records, and after every server has been sent a record
 * beyond its first WINDOW chunks. A server is passed over until its first ack (so that one that
 * never acks cannot hold the pool up), and on a loaded machine that ack can come late, while the
 * others take its turns: a skew the weights do not make up later. A server's record number
 * WINDOW * CHUNK_RECORDS + 1 lies in a chunk that could be sent only once an ack had made room,
 * so from the last such record on every server takes its turns. Each server receives its
 * records in the order of the input (one connection, chunks in order).
 */
function sharesStart(received: string[][], ledger: Ledger): number {
  const index = new Map(ledger.ids.map((id, i) => [id, i]));
  let start = WARM_UP;
  for (const ids of received) {
    const id = ids[WINDOW * CHUNK_RECORDS];
    assert.ok(id !== undefined, `a server got only ${ids.length} records: too few to have acked`);
    start = Math.max(start, index.get(id)! + 1);
  }
  return start;
}

/** Each server's share of the records from sharesStart on is within 10% of what its weight asks. */
function assertShares(received: string[][], weights: number[], ledger: Ledger): void {
  const counted = new Set(ledger.ids.slice(sharesStart(received, ledger)));
  const counts = received.map((ids) => ids.filter((id) => counted.has(id)).length);
  const sum = weights.reduce((a, b) => a + b, 0);
  counts.forEach((n, i) => {
    const want = (counted.size * weights[i]!) / sum;
    assert.ok(Math.abs(n - want) <= want * 0.1, `server ${i} (weight ${weights[i]}) got ${n}, want ${want} ± 10%`);
  });
}

/** The flags of the share runs that sharesStart relies on. */
const SHARE_FLAGS = ['--chunk-records', String(CHUNK_RECORDS), '--window', String(WINDOW)];

describe('a pool of servers', () => {
  let ledger: Ledger;
  let file: string;
  before(() => {
    ledger = new Ledger(RECORDS, 171);
    file = join(tempDir(), 'audit.log');
    writeFileSync(file, ledger.text());
  });

  /** Ships the first 20,000 records to a faulty server and a good receiver, --ack-timeout 1s; every one must be acked, exit 0. */
  async function shipTwentyThousand(faulty: FaultServer, good: RunningReceiver): Promise<{ stderr: string; summary: ShipSummary }> {
    const hosts = `127.0.0.1:${faulty.port},127.0.0.1:${good.port}`;
    const input = ledger.lines.slice(0, 20_000).join('');
    const res = await runCli(['--host', hosts, '--chunk-records', '200', '--ack-timeout', '1s', '--summary', 'json', '-'], { input });
    assert.equal(res.code, 0, res.stderr);
    const summary = jsonSummary(res.stderr);
    assert.equal(summary.recordsAcked, 20_000);
    return { stderr: res.stderr, summary };
  }

  it('shares 100,000 records between two of our receivers by equal weights', async () => {
    const [a, b] = await Promise.all([receiver(), receiver()]);
    const res = await runCli(['--host', `127.0.0.1:${a.port},127.0.0.1:${b.port}`, ...SHARE_FLAGS, '--summary', 'json', file]);
    assert.equal(res.code, 0, res.stderr);
    const got = [a.requestIds(), b.requestIds()];
    assert.equal(ledger.assertComplete(got.flat()), 0, 'no duplicates without a fault');
    assertShares(got, [1, 1], ledger);
  });

  it('shares 100,000 records among three FluentServers by weights 1, 2 and 3', async (t) => {
    const servers = [new CountingServer(), new CountingServer(), new CountingServer()];
    await Promise.all(servers.map((s) => s.listen()));
    t.after(() => Promise.all(servers.map((s) => s.close())));
    const hosts = servers.map((s, i) => `127.0.0.1:${s.port}*${i + 1}`).join(',');
    const res = await runCli(['--host', hosts, ...SHARE_FLAGS, '--summary', 'json', file]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(ledger.assertComplete(servers.flatMap((s) => s.ids)), 0);
    assertShares(
      servers.map((s) => s.ids),
      [1, 2, 3],
      ledger,
    );
  });

  it('a server SIGKILLed mid-run: the other takes its share and its unacked chunks, every duplicate counted', async () => {
    const [a, b] = await Promise.all([receiver(), receiver()]);
    const ship = startShip(['--host', `127.0.0.1:${a.port},127.0.0.1:${b.port}`, '--chunk-records', '500', '--summary', 'json', '-']);
    const half = ledger.lines.length / 2;
    ship.child.stdin!.write(ledger.lines.slice(0, half).join(''));
    await waitFor(() => b.requestIds().length >= 5000, 'the second server to receive records');
    b.child.kill('SIGKILL');
    ship.child.stdin!.write(ledger.lines.slice(half).join(''));
    assert.equal(await ship.exit(), 0, ship.stderr());
    const duplicates = ledger.assertComplete([...a.requestIds(), ...b.requestIds()]);
    const summary = jsonSummary(ship.stderr());
    assert.equal(summary.recordsAcked, RECORDS);
    assert.ok(duplicates <= summary.recordsResent, `${duplicates} duplicates, ${summary.recordsResent} records resent`);
    assert.match(ship.stderr(), new RegExp(`127\\.0\\.0\\.1:${b.port} .*reconnecting`));
    // A duplicate is the same record at the same time: keyed on RequestID downstream, it is a no-op.
    const first = new Map<string, string>();
    for (const event of [...a.events(), ...b.events()]) {
      const id = event.record.RequestID as string;
      const text = JSON.stringify(event);
      assert.equal(first.get(id) ?? text, text, `every copy of ${id} is the same`);
      first.set(id, text);
    }
  });

  it('a server that accepts and never acks holds one window at a time, and every record reaches the other', async (t) => {
    const silent = new FaultServer(() => 'hold');
    await silent.listen();
    t.after(() => silent.close());
    const good = await receiver();
    const { stderr, summary } = await shipTwentyThousand(silent, good);
    assert.ok(silent.records.length > 0, 'the silent server was sent chunks');
    assert.ok(summary.recordsResent >= silent.records.length, 'each record it held was counted as resent');
    assert.equal(new Set(good.requestIds()).size, 20_000);
    assert.match(stderr, new RegExp(`no ack from 127\\.0\\.0\\.1:${silent.port} for chunk`));
  });

  it('a server that acked and then hangs: the pool waits for it one ack timeout, then resends elsewhere', async (t) => {
    // The first connection acks 3 chunks and then holds every ack; later connections never ack.
    const hung = new FaultServer(({ connection, index }) => (connection === 1 && index < 3 ? 'ack' : 'hold'));
    await hung.listen();
    t.after(() => hung.close());
    const good = await receiver();
    const { stderr, summary } = await shipTwentyThousand(hung, good);
    const firstThree = hung.chunks.filter((c) => c.connection === 1).slice(0, 3);
    const acked = new Set(firstThree.flatMap((c) => c.records.map((r) => r.record.RequestID as string)));
    assert.equal(acked.size, 600, 'the hung server acked its first 3 chunks');
    // Every record is at the good receiver but those the hung server acked; nothing it held is lost.
    const atGood = new Set(good.requestIds());
    assert.equal(atGood.size + [...acked].filter((id) => !atGood.has(id)).length, 20_000);
    assert.ok(summary.recordsResent >= hung.records.length - 600, 'what it held was resent');
    assert.match(stderr, new RegExp(`no ack from 127\\.0\\.0\\.1:${hung.port} for chunk`));
  });

  it('a server that refuses the shared key while another takes it: passed over, said, every record delivered, exit 0', async () => {
    const good = await receiver(['--shared-key', 'k3y']);
    const refusing = await receiver(['--shared-key', 'an-older-key']);
    const input = ledger.lines.slice(0, 5000).join('');
    const hosts = `127.0.0.1:${refusing.port},127.0.0.1:${good.port}`;
    const res = await runCli(['--host', hosts, '--shared-key', 'k3y', '--chunk-records', '200', '--summary', 'json', '-'], { input });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(jsonSummary(res.stderr).recordsAcked, 5000);
    assert.equal(new Set(good.requestIds()).size, 5000);
    assert.equal(refusing.requestIds().length, 0);
    assert.match(
      res.stderr,
      new RegExp(
        `127\\.0\\.0\\.1:${refusing.port} rejected the handshake: shared_key mismatch \\(ERR_AUDIT_SHIP_AUTH\\); passed over while other servers may take the chunks, and tried again in 30 s`,
      ),
    );
    assert.match(
      res.stderr,
      new RegExp(
        `complete: every input read to its end, every valid record acked; passed over: 127\\.0\\.0\\.1:${refusing.port} rejected the handshake: shared_key mismatch\\n`,
      ),
    );
    // Every server refusing is a setting to fix: said at once, exit 1, nothing lost.
    const none = await runCli(['--host', hosts, '--shared-key', 'wrong', '--summary', 'json', '-'], { input });
    assert.equal(none.code, 1, none.stderr);
    assert.match(none.stderr, /rejected the handshake: shared_key mismatch \(ERR_AUDIT_SHIP_AUTH\)\n$/);
  });

  it('a refusing server is `refused` in audit_ship_server_state while the other is `up`', async () => {
    const good = await receiver(['--shared-key', 'k3y']);
    const refusing = await receiver(['--shared-key', 'an-older-key']);
    const ship = await startMeteredShip(['--host', `127.0.0.1:${refusing.port},127.0.0.1:${good.port}`, '--shared-key', 'k3y', '-']);
    ship.child.stdin!.write(ledger.lines.slice(0, 1000).join(''));
    const state = (m: Map<string, number>, p: number, s: string) => m.get(`audit_ship_server_state{server="127.0.0.1:${p}",state="${s}"}`);
    await scrapeUntil(
      ship,
      (m) =>
        m.get('audit_ship_records_acked_total') === 1000 && state(m, refusing.port, 'refused') === 1 && state(m, good.port, 'up') === 1,
      'the refusing server shown refused, every record acked',
    );
    const m = await ship.scrape();
    assert.deepEqual(
      ['up', 'connecting', 'down', 'standby'].map((s) => state(m, refusing.port, s)),
      [0, 0, 0, 0],
      'one state at a time',
    );
    ship.child.stdin!.end();
    assert.equal(await ship.exit(), 0, ship.stderr());
  });

  it('a standby gets chunks only while the regular server is down', async () => {
    const few = new Ledger(9000, 172);
    const regular = await receiver();
    const standby = await receiver();
    const port = regular.port;
    const ship = await startMeteredShip([
      '--host',
      `127.0.0.1:${port}`,
      '--standby',
      `127.0.0.1:${standby.port}`,
      '--chunk-records',
      '100',
      '-',
    ]);
    const feed = async (from: number, to: number) => {
      ship.child.stdin!.write(few.lines.slice(from, to).join(''));
      await scrapeUntil(ship, (m) => m.get('audit_ship_records_acked_total') === to, `${to} records acked`);
    };
    const state = (m: Map<string, number>, p: number, s: string) => m.get(`audit_ship_server_state{server="127.0.0.1:${p}",state="${s}"}`);

    await feed(0, 3000);
    assert.equal(standby.requestIds().length, 0, 'nothing to the standby while the regular server is up');
    assert.equal(state(await ship.scrape(), standby.port, 'standby'), 1);

    regular.child.kill('SIGKILL');
    await feed(3000, 6000);
    const duringOutage = standby.requestIds().length;
    assert.ok(duringOutage >= 3000, `the standby took over (${duringOutage} records)`);

    const back = await receiver(['--port', String(port)]);
    await scrapeUntil(ship, (m) => state(m, port, 'up') === 1 && state(m, standby.port, 'standby') === 1, 'the regular server back');
    await feed(6000, 9000);
    assert.equal(standby.requestIds().length, duringOutage, 'nothing more to the standby once the regular server is back');
    assert.equal(new Set(back.requestIds()).size, 3000);
    assert.equal(await ship.exit(), 0, ship.stderr());
    few.assertComplete([...regular.requestIds(), ...standby.requestIds(), ...back.requestIds()]);
  });
});
