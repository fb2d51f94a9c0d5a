/**
 * Servers that misbehave without ever failing outright must not turn the shipper into a busy loop
 * or a memory sink: one that accepts and closes at once (a load balancer with no backend), one that
 * acks ids it was never sent, one that streams an endless reply. Each runs against the built CLI;
 * the records stay in the spool, and a good receiver gets them all afterwards.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { encode } from '@msgpack/msgpack';
import { EXIT } from '../../src/cli/exit.js';
import type { ShipSummary } from '../../src/cli/ship-summary.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { Ledger } from '../helpers/ledger.js';
import { testPeer } from '../helpers/net.js';
import { receivers } from '../helpers/receive-cli.js';
import { jsonSummary, startShip } from '../helpers/ship-cli.js';

const receiver = receivers();

/** A TCP server that runs `onSocket` for each connection and counts them; closed after the test. */
async function hostile(t: TestContext, onSocket: (socket: Socket) => void): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const port = await testPeer(t, (socket) => {
    connections++;
    onSocket(socket);
  });
  return { port, connections: () => connections };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the shipper on a live stdin against `port` for 3 s, then stops it; checks every record is kept and delivered later. */
async function shipAgainst(port: number, records: number): Promise<{ stderr: string; summary: ShipSummary }> {
  const ledger = new Ledger(records, 61);
  const spoolDir = join(tempDir(), 'spool');
  const ship = startShip(['--port', String(port), '--flush-interval', '50ms', '--shutdown-timeout', '200ms', '--summary', 'json'], {
    AUDIT_SHIP_SPOOL_DIR: spoolDir,
  });
  ship.child.stdin!.write(ledger.text());
  await sleep(3000);
  await ship.exit('SIGTERM');
  const summary = jsonSummary(ship.stderr());
  assert.equal(summary.recordsAcked, 0);
  if (records > 0) {
    const r = await receiver();
    const res = await runCli(['--port', String(r.port)], { env: { AUDIT_SHIP_SPOOL_DIR: spoolDir } });
    assert.equal(res.code, EXIT.ok, res.stderr);
    ledger.assertComplete(r.requestIds());
  }
  return { stderr: ship.stderr(), summary };
}

describe('servers that misbehave without failing', () => {
  it('a server that accepts and closes at once: an idle tail backs off (it made 25,772 connections in 6 s)', async (t) => {
    const server = await hostile(t, (socket) => socket.destroy());
    await shipAgainst(server.port, 0);
    // Backoff from 0.5 s, doubling: a handful of attempts in 3 s, however fast the machine.
    assert.ok(server.connections() >= 1 && server.connections() <= 12, `${server.connections()} connections in 3 s`);
  });

  it('the same with records waiting: they stay in the spool and a good receiver gets them all', async (t) => {
    const server = await hostile(t, (socket) => socket.destroy());
    await shipAgainst(server.port, 200);
    assert.ok(server.connections() <= 12, `${server.connections()} connections in 3 s`);
  });

  it('a server that acks ids it was never sent, then closes: a bogus ack does not reset the backoff', async (t) => {
    const server = await hostile(t, (socket) => {
      socket.once('data', () => socket.end(encode({ ack: 'bm90LW91ci1jaHVuaw==' })));
    });
    await shipAgainst(server.port, 200);
    assert.ok(server.connections() >= 1 && server.connections() <= 12, `${server.connections()} connections in 3 s`);
  });

  it('a server that streams a reply that never ends: the connection is cut at 64 KB, memory stays small', async (t) => {
    const server = await hostile(t, (socket) => {
      // Arrays of 15 nested in arrays of 15, for ever: each header within the limits, never a whole message.
      const nest = Buffer.alloc(64 * 1024, 0x9f);
      const pump = () => {
        while (!socket.destroyed && socket.write(nest));
        if (!socket.destroyed) socket.once('drain', pump);
      };
      pump();
    });
    const { stderr, summary } = await shipAgainst(server.port, 200);
    assert.match(stderr, /sent over 65536 bytes without a whole reply/);
    assert.ok(summary.peakRssBytes! < 200 * 1024 * 1024, `peak RSS ${summary.peakRssBytes}`);
  });

  // The PONG's reason went into the error as it came: escape sequences for the reader's terminal.
  it('a server whose PONG reason holds escape sequences: the reason is printed escaped', async (t) => {
    const server = await hostile(t, (socket) => {
      socket.write(encode(['HELO', { nonce: Buffer.alloc(16, 1), auth: Buffer.alloc(0), keepalive: true }]));
      socket.once('data', () => socket.end(encode(['PONG', false, '\u001b[2J\u001b]0;owned\u0007no\nway', '', ''])));
    });
    const res = await runCli(
      ['--port', String(server.port), '--shared-key', 'k', '--retry-timeout', '1s', '--spool-dir', join(tempDir(), 'spool')],
      {
        input: new Ledger(3, 62).text(),
      },
    );
    assert.equal(res.code, EXIT.failure, res.stderr);
    assert.ok(!/[^\P{Cc}\n]/u.test(res.stderr), `a control character other than a line end: ${res.stderr}`);
    assert.match(res.stderr, /rejected the handshake: \\u001b\[2J\\u001b\]0;owned\\u0007no\\nway \(ERR_AUDIT_SHIP_AUTH\)/);
  });

  it('a server that sends a 4 GB bin header: refused at the header, not buffered', async (t) => {
    const server = await hostile(t, (socket) => {
      socket.write(Buffer.from([0xc6, 0xff, 0xff, 0xff, 0xff]));
      const zeros = Buffer.alloc(64 * 1024);
      const pump = () => {
        while (!socket.destroyed && socket.write(zeros));
        if (!socket.destroyed) socket.once('drain', pump);
      };
      pump();
    });
    const { stderr, summary } = await shipAgainst(server.port, 200);
    assert.match(stderr, /bin length \(4294967295\) > maxBinLength/);
    assert.ok(summary.peakRssBytes! < 200 * 1024 * 1024, `peak RSS ${summary.peakRssBytes}`);
  });
});
