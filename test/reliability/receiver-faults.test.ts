/**
 * Nothing is lost when the receiver fails: down at start, restarted mid-stream, silent, acking
 * only some chunks, cutting a frame in half. Each test feeds a ledger of RequestIDs through the
 * built CLI, checks that every one arrived, and that the summary and the metrics agree.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout } from 'node:timers/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit.js';
import { tempDir } from '../helpers/cli.js';
import { FaultServer } from '../helpers/fault-server.js';
import { freePort } from '../helpers/net.js';
import { assertSummaryMatchesMetrics, Ledger } from '../helpers/ledger.js';
import { startReceiveCli, type RunningReceiver } from '../helpers/receive-cli.js';
import { jsonSummary, startShip, startMeteredShip, waitFor } from '../helpers/ship-cli.js';

/** Every RequestID the receivers wrote, across restarts, duplicates included. */
function idsFrom(receivers: RunningReceiver[]): string[] {
  return receivers.flatMap((r) => r.requestIds());
}

describe('receiver faults', () => {
  it('a receiver that is down at start and comes up later gets everything from the spool', async () => {
    const port = await freePort();
    const ledger = new Ledger(3000, 71);
    const ship = await startMeteredShip(['--port', String(port), '--chunk-records', '200', '--flush-interval', '50ms']);
    ship.child.stdin!.write(ledger.text());
    await waitFor(() => /cannot connect/.test(ship.stderr()), 'a refused connection');
    const receiver = await startReceiveCli(['--port', String(port)]);
    try {
      const metrics = await ship.settled(3000);
      assert.equal(await ship.exit(), 0, ship.stderr());
      const summary = jsonSummary(ship.stderr());
      assertSummaryMatchesMetrics(summary, metrics);
      assert.equal(ledger.assertComplete(idsFrom([receiver])), 0, 'nothing was in flight to duplicate');
      assert.ok(summary.connectRetries! >= 1);
    } finally {
      await receiver.stop();
    }
  });

  it('a receiver killed and restarted twice mid-stream: everything arrives, duplicates bounded and reported', async () => {
    const port = await freePort();
    const ledger = new Ledger(8000, 72);
    const receivers = [await startReceiveCli(['--port', String(port)])];
    const ship = await startMeteredShip(['--port', String(port), '--rate', '4000', '--chunk-records', '250', '--flush-interval', '50ms']);
    ship.child.stdin!.write(ledger.text());
    try {
      for (const after of [2000, 5000]) {
        await waitFor(() => idsFrom(receivers).length >= after, `${after} records`);
        receivers.at(-1)!.child.kill('SIGKILL');
        await once(receivers.at(-1)!.child, 'exit');
        receivers.push(await startReceiveCli(['--port', String(port)]));
      }
      const metrics = await ship.settled(8000);
      assert.equal(await ship.exit(), 0, ship.stderr());
      const summary = jsonSummary(ship.stderr());
      assertSummaryMatchesMetrics(summary, metrics);
      const duplicates = ledger.assertComplete(idsFrom(receivers));
      assert.ok(duplicates <= summary.recordsResent!, `${duplicates} duplicates, ${summary.recordsResent} records resent`);
      assert.ok(summary.recordsResent! <= 2 * 16 * 250, 'resends are bounded by what can be in flight, twice');
    } finally {
      for (const r of receivers) await r.stop();
    }
  });

  it('a receiver that never acks, acks only some chunks, or cuts a frame in half: resent, none lost', async () => {
    const server = new FaultServer(
      ({ connection, index }) => {
        if (connection === 1) return 'hold'; // accepts and never acks
        if (connection === 3) return index % 2 === 0 ? 'ack' : 'hold'; // acks only some
        return 'ack';
      },
      (connection) => (connection === 2 ? 20_000 : null),
    ); // cuts the connection mid-frame
    const port = await server.listen();
    const ledger = new Ledger(2000, 73);
    try {
      const ship = await startMeteredShip([
        '--port',
        String(port),
        '--ack-timeout',
        '300ms',
        '--chunk-records',
        '100',
        '--flush-interval',
        '50ms',
      ]);
      ship.child.stdin!.write(ledger.text());
      const metrics = await ship.settled(2000);
      assert.equal(await ship.exit(), 0, ship.stderr());
      const summary = jsonSummary(ship.stderr());
      assertSummaryMatchesMetrics(summary, metrics);
      ledger.assertComplete(server.records.map((r) => r.record.RequestID as string));
      assert.ok(server.connections >= 4, `${server.connections} connections`);
      assert.ok(summary.resends! >= 3, `${summary.resends} chunks resent`);
      assert.match(ship.stderr(), /no ack from 127\.0\.0\.1:\d+ for chunk .* within 300 ms; reconnecting/);
    } finally {
      await server.close();
    }
  });

  it('a receiver that closes each connection once it has acked (deny_keepalive): one chunk at a time after the second, each record once', async () => {
    const server = new FaultServer(() => 'ack-and-close');
    const port = await server.listen();
    const ledger = new Ledger(2000, 75);
    const file = join(tempDir(), 'audit.jsonl');
    writeFileSync(file, ledger.text());
    try {
      const ship = startShip(['--port', String(port), '--chunk-records', '100', '--window', '8', file]);
      assert.equal(await ship.exit(), 0, ship.stderr());
      assert.equal(ledger.assertComplete(server.records.map((r) => r.record.RequestID as string)), 0, 'no duplicates');
      const lines = ship.stderr().split('\n');
      const switched = lines.findIndex((l) =>
        /closed the connection; it ended the connection once it had acked, twice in a row \(deny_keepalive in its forward input\?\): one chunk at a time to it from now on/.test(
          l,
        ),
      );
      assert.ok(switched >= 0, ship.stderr());
      // Its chunks were in flight when connections ended, but after an ack: not said to be too big.
      assert.doesNotMatch(ship.stderr(), /no message that big/);
      assert.deepEqual(
        lines.slice(switched + 1).filter((l) => /to resend|once it had acked/.test(l)),
        [],
        'after the switch, no connection ends with chunks to resend',
      );
    } finally {
      await server.close();
    }
  });

  it('a deny_keepalive receiver fed a trickle, one chunk a connection, is seen before a burst: the burst goes one chunk at a time', async () => {
    const server = new FaultServer(() => 'ack-and-close');
    const port = await server.listen();
    const trickle = new Ledger(300, 76);
    const burst = new Ledger(800, 77);
    try {
      const ship = startShip(['--port', String(port), '--chunk-records', '100', '--flush-interval', '20ms', '--window', '8']);
      // Each chunk is acked, and its connection ended, before the next is written: nothing is in
      // flight. The pause leaves each new connection idle for over a second before its chunk, as a
      // live tail's is: a rule timed from the connect would not see the server.
      for (let i = 0; i < 3; i++) {
        ship.child.stdin!.write(trickle.lines.slice(i * 100, (i + 1) * 100).join(''));
        await waitFor(() => server.chunks.length === i + 1, `chunk ${i + 1}`);
        await setTimeout(1200);
      }
      await waitFor(() => /one chunk at a time to it from now on/.test(ship.stderr()), 'the switch');
      ship.child.stdin!.end(burst.text());
      assert.equal(await ship.exit(), 0, ship.stderr());
      assert.equal(Ledger.of([trickle, burst]).assertComplete(server.records.map((r) => r.record.RequestID as string)), 0, 'no duplicates');
      assert.deepEqual(
        ship
          .stderr()
          .split('\n')
          .filter((l) => /to resend/.test(l)),
        [],
        'no connection ends with chunks to resend',
      );
      assert.ok(server.connections >= 11, `${server.connections} connections: one per chunk`);
    } finally {
      await server.close();
    }
  });

  it('a chunk taken and left unacked twice (what Fluentd does over its chunk_size_limit) is named with its size and the option to lower', async () => {
    // The first connection acks its first chunk and holds the others; the second holds every chunk; the third acks.
    const server = new FaultServer(({ connection, index }) => ((connection === 1 && index === 0) || connection >= 3 ? 'ack' : 'hold'));
    const port = await server.listen();
    const ledger = new Ledger(300, 74);
    try {
      const ship = startShip(['--port', String(port), '--ack-timeout', '200ms', '--chunk-records', '100']);
      ship.child.stdin!.end(ledger.text());
      assert.equal(await ship.exit(), 0, ship.stderr());
      const timeouts = ship
        .stderr()
        .split('\n')
        .filter((l) => l.includes('no ack from'));
      assert.equal(timeouts.length, 2, ship.stderr());
      assert.match(timeouts[0]!, /within 200 ms; reconnecting/);
      assert.match(
        timeouts[1]!,
        /within 200 ms \(2 times for this chunk: a Fluentd forward input drops a chunk over its chunk_size_limit without an ack, "dropped" in its log; this one is \d{5,6} bytes: lower --chunk-bytes below that limit\); reconnecting/,
      );
      ledger.assertComplete(server.records.map((r) => r.record.RequestID as string));
    } finally {
      await server.close();
    }
  });

  // A port that takes chunks and acks none (no forward input, or a proxy that passes no answers
  // back) was told to lower --chunk-bytes below a limit, for a chunk of 4 kB.
  it('a server that has acked nothing: asks whether it is a forward input at all', async () => {
    const server = new FaultServer(() => 'hold');
    const port = await server.listen();
    try {
      const ship = startShip(['--port', String(port), '--ack-timeout', '200ms', '--retry-timeout', '2s']);
      ship.child.stdin!.end(new Ledger(3, 75).text());
      assert.equal(await ship.exit(), EXIT.leftInSpool, ship.stderr());
      const timeouts = ship
        .stderr()
        .split('\n')
        .filter((l) => l.includes('no ack from'));
      assert.ok(timeouts.length >= 2, ship.stderr());
      assert.match(
        timeouts[1]!,
        /\(2 times for this chunk, and 127\.0\.0\.1:\d+ has acked none in this run: is it a forward input, and does what lies between pass its answers back\? An in_tcp or in_http port, or a proxy that does not, takes chunks and acks none; or a Fluentd forward input drops a chunk over its chunk_size_limit/,
      );
    } finally {
      await server.close();
    }
  });
});
