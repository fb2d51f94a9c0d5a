/**
 * A spool whose disk has no byte free when audit-ship starts: Fluentd was down long enough for the
 * spool (or something else) to fill the disk, and the shipper was killed while it waited. The next
 * start must take the spool over and deliver it, which is what frees the disk: it could not start
 * at all, so nothing ever drained it.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit.js';
import { runCli } from '../helpers/cli.js';
import { Ledger } from '../helpers/ledger.js';
import { freePort } from '../helpers/net.js';
import { receivers } from '../helpers/receive-cli.js';
import { jsonSummary, startShip, waitFor } from '../helpers/ship-cli.js';
import { fillDisk, mountTmpfs, tmpfsUnavailable } from '../helpers/tmpfs.js';

const receiver = receivers();
const skipTmpfs = tmpfsUnavailable('size=2m', 'the full-disk start tests');

/** A test with a spool directory on a 2 MB tmpfs of its own (root): skipped elsewhere, the reason printed. */
const onSmallDisk = (name: string, body: (disk: string, spool: string) => Promise<void>) =>
  it(name, { skip: skipTmpfs ?? false }, async (t) => {
    const disk = mountTmpfs(t, 'size=2m');
    await body(disk, join(disk, 'spool'));
  });

describe('a spool on a disk with no byte free at start', () => {
  onSmallDisk(
    'left by a shipper SIGKILLed mid-write (its lock held, a torn chunk at the end): taken over and delivered',
    async (disk, spool) => {
      const ledger = new Ledger(1000, 41);
      const down = startShip(['--port', String(await freePort()), '--spool-dir', spool, '--chunk-records', '100']);
      down.child.stdin!.write(ledger.text());
      await waitFor(() => /retrying/.test(down.stderr()), 'a connect retry');
      const spooled = async () => {
        const status = await runCli(['spool', 'status', '--json', '--spool-dir', spool]);
        return (JSON.parse(status.stdout) as { records: number }).records;
      };
      for (let records = 0; records < 1000 && down.child.exitCode === null; records = await spooled());
      down.child.kill('SIGKILL');
      await down.exit();
      // What a kill in the middle of an append leaves: the start of a frame.
      const segment = readdirSync(spool).find((f) => f.endsWith('.seg'))!;
      appendFileSync(join(spool, segment), Buffer.from('a torn frame, cut by the kill'));
      fillDisk(disk);
      const r = await receiver();
      const res = await runCli(['--port', String(r.port), '--spool-dir', spool, '--summary', 'json'], { input: '' });
      assert.equal(res.code, EXIT.ok, res.stderr);
      assert.match(res.stderr, /1 torn or corrupt spool range \(29 bytes\) found; no room on the disk to set it aside in /);
      assert.equal(jsonSummary(res.stderr).recoveredFromSpool, 1000);
      ledger.assertComplete(r.requestIds());
      assert.ok(!existsSync(join(spool, '.lock.takeover')), 'no takeover guard left behind');
    },
  );

  onSmallDisk('left by a run that ended cleanly, the disk filled by something else since: delivered, and purged', async (disk, spool) => {
    const ledger = new Ledger(500, 42);
    const down = await runCli(['--port', String(await freePort()), '--spool-dir', spool, '--retry-timeout', '1s'], {
      input: ledger.text(),
    });
    assert.equal(down.code, EXIT.leftInSpool, down.stderr);
    fillDisk(disk);
    const r = await receiver();
    const res = await runCli(['--port', String(r.port), '--spool-dir', spool, '--summary', 'json'], { input: '' });
    assert.equal(res.code, EXIT.ok, res.stderr);
    assert.equal(jsonSummary(res.stderr).recoveredFromSpool, 500);
    ledger.assertComplete(r.requestIds());
    // The same for `spool purge`, the way to free such a disk by hand.
    rmSync(join(disk, 'filler'));
    await runCli(['--port', String(await freePort()), '--spool-dir', spool, '--retry-timeout', '1s'], { input: ledger.text() });
    fillDisk(disk);
    assert.notDeepEqual(
      readdirSync(spool).filter((f) => f.endsWith('.seg')),
      [],
      'spooled again',
    );
    // What an operator asks first when the spool's writes wait for room.
    const status = await runCli(['spool', 'status', '--spool-dir', spool]);
    assert.match(status.stdout, /^disk: 0 B free of 2\.1 MB$/m, status.stdout);
    const purge = await runCli(['spool', 'purge', '--yes', '--spool-dir', spool]);
    assert.equal(purge.code, EXIT.ok, purge.stderr);
    assert.deepEqual(
      readdirSync(spool).filter((f) => f.endsWith('.seg')),
      [],
    );
    const freed = JSON.parse((await runCli(['spool', 'status', '--json', '--spool-dir', spool])).stdout) as {
      disk: { free: number; size: number };
    };
    assert.equal(freed.disk.size, 2 * 1024 * 1024);
    assert.ok(freed.disk.free > 0, `room again after the purge (${freed.disk.free} B)`);
  });
});
