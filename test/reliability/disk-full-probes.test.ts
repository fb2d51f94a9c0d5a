/**
 * A write that waits for disk room shows on /metrics (`audit_ship_disk_full{file}`) and makes
 * /readyz unready, naming the file: a live tail whose dead letter waited for room showed only as
 * reading that had stopped, and the probes said it was ready.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit.js';
import { tempDir } from '../helpers/cli.js';
import { Ledger } from '../helpers/ledger.js';
import { receivers } from '../helpers/receive-cli.js';
import { scrapeUntil, startMeteredShip, type MeteredShip } from '../helpers/ship-cli.js';
import { onePageFree, tmpfsUnavailable } from '../helpers/tmpfs.js';

const receiver = receivers();

const skipTmpfs = tmpfsUnavailable('size=64k', 'the full-disk probe tests');

/** `/readyz` of a metered shipper: its status and body. */
async function readiness(ship: MeteredShip): Promise<string> {
  const origin = /metrics on (http:\/\/\S+)\/metrics/.exec(ship.stderr())![1];
  const response = await fetch(`${origin}/readyz`);
  return `${response.status} ${(await response.text()).trim()}`;
}

const gauge = (file: string) => `audit_ship_disk_full{file="${file}"}`;

describe('a write waiting for disk room, on the probes', { skip: skipTmpfs ?? false }, () => {
  it('a --dead-letter letter waiting for room: disk_full{file="dead_letter"} 1 and /readyz 503 naming the file, both cleared once room is made', async (t) => {
    const disk = onePageFree(t, 64);
    const ledger = new Ledger(3000, 61);
    const dir = tempDir();
    const input = join(dir, 'audit.jsonl');
    writeFileSync(input, [...ledger.lines.slice(0, 1500), `{"RequestID":"${'x'.repeat(10_000)}"}\n`, ...ledger.lines.slice(1500)].join(''));
    const r = await receiver();
    const dead = join(disk.dir, 'dead.jsonl');
    const ship = await startMeteredShip(['--port', String(r.port), '--dead-letter', dead, '--checkpoint', join(dir, 'cp.json'), input]);
    await scrapeUntil(ship, (m) => m.get(gauge('dead_letter')) === 1 || ship.child.exitCode !== null, 'the letter waiting');
    const waiting = await ship.scrape();
    assert.equal(waiting.get(gauge('dead_letter')), 1, ship.stderr());
    assert.equal(waiting.get(gauge('spool')), 0, 'the spool has room');
    assert.equal(waiting.get(gauge('checkpoint')), 0, 'the checkpoint has room');
    assert.equal(waiting.has(gauge('kubectl_positions')), false, 'no kubectl, no positions file');
    assert.equal(await readiness(ship), '503 the disk is full: writes to the --dead-letter file wait for room');

    disk.makeRoom();
    await scrapeUntil(ship, (m) => m.get(gauge('dead_letter')) === 0, 'the letter written');
    assert.equal(await ship.exit(), EXIT.ok, ship.stderr());
    ledger.assertComplete(r.requestIds());
  });

  it('the spool waiting for room: disk_full{file="spool"} 1 and /readyz 503 naming the spool, not its cap', async (t) => {
    // Room for chunks of 100 records (about 110 KB) once the filler goes.
    const disk = onePageFree(t, 2048);
    const ledger = new Ledger(2000, 62);
    const r = await receiver();
    const ship = await startMeteredShip(['--port', String(r.port), '--spool-dir', join(disk.dir, 'spool'), '--chunk-records', '100']);
    ship.child.stdin!.end(ledger.text());
    await scrapeUntil(ship, (m) => m.get(gauge('spool')) === 1 || ship.child.exitCode !== null, 'the spool waiting');
    assert.equal((await ship.scrape()).get(gauge('spool')), 1, ship.stderr());
    assert.equal(await readiness(ship), '503 the disk is full: writes to the spool wait for room');

    disk.makeRoom();
    assert.equal(await ship.exit(), EXIT.ok, ship.stderr());
    ledger.assertComplete(r.requestIds());
  });
});
