/**
 * Nothing is lost when audit-ship itself or its disk fails: SIGKILL mid-backfill, a damaged spool
 * between runs, a spool too small or not writable, and connection failures that keep the records.
 */
import assert from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit.js';
import { listSegments, inspectSegment } from '../../src/spool/segments.js';
import { prng } from '../../src/sample/generate.js';
import { UNSAVED_CHUNKS } from '../../src/ship/spool-writer.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { FaultServer } from '../helpers/fault-server.js';
import { assertSummaryMatchesMetrics, Ledger } from '../helpers/ledger.js';
import { fixture } from '../helpers/paths.js';
import { receivers } from '../helpers/receive-cli.js';
import { jsonSummary, startMeteredShip, startShip, waitFor } from '../helpers/ship-cli.js';

const receiver = receivers();

function spoolRecords(spoolDir: string): Promise<number> {
  return runCli(['spool', 'status', '--json', '--spool-dir', spoolDir]).then((r) => (JSON.parse(r.stdout) as { records: number }).records);
}

describe('audit-ship killed', () => {
  it('SIGKILLed at random points of a backfill and re-run with the same spool and checkpoint: every record arrives', async () => {
    const r = await receiver();
    const dir = tempDir();
    const ledger = new Ledger(20_000, 81);
    const file = join(dir, 'backfill.jsonl');
    writeFileSync(file, ledger.text());
    const args = [
      '--port',
      String(r.port),
      '--spool-dir',
      join(dir, 'spool'),
      '--checkpoint',
      join(dir, 'cp.json'),
      '--chunk-records',
      '500',
      file,
    ];
    const random = prng(8);
    for (let kill = 0; kill < 3; kill++) {
      // Slow enough that the kill lands mid-run even on a loaded machine, whose polling of the receiver's file is slow.
      const ship = startShip([...args, '--rate', '5000']);
      const before = r.events().length;
      await waitFor(() => r.events().length > before + 500 + Math.floor(random() * 3000), 'some progress');
      assert.equal(await ship.exit('SIGKILL'), null);
    }
    const last = await runCli([...args, '--summary', 'json']);
    assert.equal(last.code, 0, last.stderr);
    const received = r.requestIds();
    const duplicates = ledger.assertComplete(received);
    assert.ok(duplicates < 3 * 2 * 16 * 500, `${duplicates} duplicates stay within what three kills can leave in flight`);
  });

  it('SIGKILLed at random points of a backfill read by 3 workers, and re-run: every record of every file arrives', async () => {
    const r = await receiver();
    const dir = tempDir();
    const ledgers = [new Ledger(20_000, 83), new Ledger(20_000, 84), new Ledger(20_000, 85)];
    const files = ledgers.map((ledger, i) => {
      const file = join(dir, `backfill-${i}.jsonl${i === 0 ? '.gz' : ''}`);
      writeFileSync(file, i === 0 ? gzipSync(ledger.text()) : ledger.text());
      return file;
    });
    // One chunk of 100 in flight at a time: slow enough (no --rate with workers) for the kills to land mid-run.
    const spool = ['--spool-dir', join(dir, 'spool'), '--checkpoint', join(dir, 'cp.json'), '--chunk-records', '100', '--window', '1'];
    const args = ['--port', String(r.port), ...spool, '--workers', '3', ...files];
    const random = prng(9);
    for (let kill = 0; kill < 3; kill++) {
      const ship = startShip(args);
      const before = r.events().length;
      await waitFor(() => r.events().length > before + 500 + Math.floor(random() * 3000), 'some progress');
      assert.equal(await ship.exit('SIGKILL'), null, 'killed mid-run');
    }
    const last = await runCli([...args, '--summary', 'json']);
    assert.equal(last.code, 0, last.stderr);
    const duplicates = Ledger.of(ledgers).assertComplete(r.requestIds());
    // Per kill: the chunk in flight, for each file a chunk spooled and not yet recorded, and the
    // chunks recorded whose positions were not yet saved (UNSAVED_CHUNKS).
    const perKill = 1 + 3 + UNSAVED_CHUNKS;
    assert.ok(duplicates <= 3 * perKill * 100, `${duplicates} duplicates stay within what three kills can leave behind`);
  });
});

describe('spool damage and limits', () => {
  it('a spool damaged between runs: the damage is reported and set aside, the rest delivered', async () => {
    const dir = tempDir();
    const spoolDir = join(dir, 'spool');
    const ledger = new Ledger(1000, 82);
    // Long enough that a loaded machine reads all of stdin before the run gives up (exit 3, not 4).
    const down = await runCli(['--port', '1', '--retry-timeout', '2s', '--chunk-records', '100', '--spool-dir', spoolDir], {
      input: ledger.text(),
    });
    assert.equal(down.code, EXIT.leftInSpool);
    const [segment] = listSegments(spoolDir);
    const frames = inspectSegment(segment!).frames;
    assert.equal(frames.length, 10);
    const data = readFileSync(segment!.path);
    const at = frames[2]!.entriesOffset + 100;
    data[at] = data[at]! ^ 0xff; // a flipped bit in the third chunk
    writeFileSync(segment!.path, data);
    truncateSync(segment!.path, data.length - 50); // and a torn last chunk

    // Once silent about it: status counted the good chunks alone.
    const status = await runCli(['spool', 'status', '--spool-dir', spoolDir]);
    assert.match(status.stdout, /^2 damaged ranges found \(`spool verify` lists them; the next run sets them aside\)$/m);
    const verify = await runCli(['spool', 'verify', '--spool-dir', spoolDir]);
    assert.equal(verify.code, 1);
    assert.match(verify.stdout, /damaged: .* checksum/);
    assert.match(verify.stdout, /damaged: .* torn/);

    const r = await receiver();
    const up = await runCli(['--port', String(r.port), '--spool-dir', spoolDir, '--summary', 'json'], { input: '' });
    // The torn last chunk is what a crash mid-append leaves, its lines read again; the flipped bit
    // lies between good chunks: what was spooled, lost, which exit 0 once hid.
    assert.equal(up.code, EXIT.dropped, up.stderr);
    assert.match(
      up.stderr,
      /2 torn or corrupt spool ranges \(\d+ bytes\) were set aside in .*damaged; one lay between good chunks: the records in it are lost/,
    );
    assert.match(
      up.stderr,
      /exit 6: 1 damaged spool range between good chunks was set aside in \S+\/damaged: damage to what was spooled, not a write a crash cut; the records in it are lost/,
    );
    assert.equal(jsonSummary(up.stderr).damagedSpoolRanges, 2);
    const lost = ledger.missing(r.requestIds());
    assert.deepEqual(lost, [...ledger.ids.slice(200, 300), ...ledger.ids.slice(900)], 'exactly the two damaged chunks are missing');
    const again = await runCli(['--port', String(r.port), '--spool-dir', spoolDir], { input: '' });
    assert.equal(again.code, EXIT.ok, 'said once: the damage was set aside');
  });

  it('a spool far smaller than the backlog, under block: the input waits, nothing is dropped or lost', async () => {
    const server = new FaultServer(() => ({ delayMs: 30 }));
    const port = await server.listen();
    try {
      const ledger = new Ledger(1500, 83);
      const ship = await startMeteredShip([
        '--port',
        String(port),
        '--spool-max-bytes',
        '64k',
        '--chunk-records',
        '20',
        '--flush-interval',
        '50ms',
      ]);
      ship.child.stdin!.write(ledger.text());
      let largest = 0;
      for (let m = await ship.scrape(); m.get('audit_ship_records_acked_total') !== 1500; m = await ship.scrape()) {
        largest = Math.max(largest, m.get('audit_ship_spool_bytes') ?? 0);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const metrics = await ship.settled(1500);
      assert.equal(await ship.exit(), 0, ship.stderr());
      assert.ok(largest > 0 && largest <= 64 * 1024, `the spool held at most 64 KiB (${largest})`);
      const summary = jsonSummary(ship.stderr());
      assert.equal(summary.dropped, 0);
      assertSummaryMatchesMetrics(summary, metrics);
      ledger.assertComplete(server.records.map((r) => r.record.RequestID as string));
    } finally {
      await server.close();
    }
  });

  it('a spool that cannot be created fails at once with a clear error', async () => {
    const res = await runCli(['--port', '1', '--spool-dir', join(fixture('seed-example.json'), 'spool')], { input: '' });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /cannot use the spool .*seed-example\.json\/spool: not a directory \(ERR_AUDIT_SHIP_SPOOL\)/);
  });
});

describe('connection failures keep the records', () => {
  // A configuration error is fatal (exit 1); a server that cannot be reached is given up on (exit 3).
  const cases: [string, string[], RegExp, number][] = [
    ['a wrong shared key', ['--shared-key', 'wrong'], /shared key mismatch|rejected the shared key|shared_key/i, EXIT.failure],
    [
      'a certificate that does not match',
      ['--tls-ca', fixture('tls/other-ca.pem'), '--tls-servername', 'localhost'],
      /TLS with 127\.0\.0\.1:\d+ failed/,
      EXIT.failure,
    ],
    ['an unreachable host', ['--port', '1', '--retry-timeout', '2s'], /gave up: nothing could be delivered for 2 s/, EXIT.leftInSpool],
    [
      'a name that does not resolve',
      ['--host', 'no-such-host.invalid', '--retry-timeout', '2s'],
      /gave up: nothing could be delivered for 2 s/,
      EXIT.leftInSpool,
    ],
  ];
  for (const [name, args, message, exit] of cases) {
    it(`${name}: a clear error, exit ${exit}, every record left in the spool`, async () => {
      const tls = name.includes('certificate') ? ['--tls-cert', fixture('tls/server.pem'), '--tls-key', fixture('tls/server.key')] : [];
      const r = await receiver(['--shared-key', 'right', ...tls]);
      const spoolDir = join(tempDir(), 'spool');
      const ledger = new Ledger(50, 84);
      const res = await runCli(
        ['--port', String(r.port), '--spool-dir', spoolDir, ...(name.includes('shared key') ? [] : ['--shared-key', 'right']), ...args],
        { input: ledger.text() },
      );
      assert.equal(res.code, exit, res.stderr);
      assert.match(res.stderr, message);
      assert.match(res.stderr, /50 records were not acked and stay in the spool/);
      assert.equal(await spoolRecords(spoolDir), 50);
      assert.equal(r.events().length, 0);
    });
  }
});

describe('what a run leaves in the spool', () => {
  // Sent under the next run's --tag, staging's records reached production's <match>.
  it("is sent by the next run under the tag it was read with, whatever that run's --tag", async () => {
    const spoolDir = join(tempDir(), 'spool');
    const staging = new Ledger(50, 86);
    const down = await runCli(['--port', '1', '--retry-timeout', '1s', '--tag', 'deploy_audit.staging', '--spool-dir', spoolDir], {
      input: staging.text(),
    });
    assert.equal(down.code, EXIT.leftInSpool, down.stderr);
    const status = await runCli(['spool', 'status', '--json', '--spool-dir', spoolDir]);
    assert.deepEqual((JSON.parse(status.stdout) as { tags: Record<string, number> }).tags, { 'deploy_audit.staging': 50 });
    const r = await receiver();
    const prod = new Ledger(20, 87);
    const up = await runCli(['--port', String(r.port), '--tag', 'deploy_audit.prod', '--spool-dir', spoolDir], { input: prod.text() });
    assert.equal(up.code, EXIT.ok, up.stderr);
    assert.match(
      up.stderr,
      /50 records left in the spool by an earlier run are sent first, under the tag they were read with: deploy_audit\.staging \(50\)/,
    );
    const tagOf = new Map(r.events().map((e) => [e.record.RequestID as string, e.tag]));
    assert.deepEqual(new Set(staging.ids.map((id) => tagOf.get(id))), new Set(['deploy_audit.staging']));
    assert.deepEqual(new Set(prod.ids.map((id) => tagOf.get(id))), new Set(['deploy_audit.prod']));
  });
});
