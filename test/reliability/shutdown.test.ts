/**
 * A stop signal never drops what was read: records already taken from the input are in the spool
 * when the process exits (a full spool takes them over its cap), and the summary's accounting adds
 * up on every shutdown path. Checked by RequestID: a later run delivers every line the first took.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit.js';
import type { ShipSummary } from '../../src/cli/ship-summary.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { assertAccounted, Ledger } from '../helpers/ledger.js';
import { receivers } from '../helpers/receive-cli.js';
import { FaultServer } from '../helpers/fault-server.js';
import { jsonSummary, scrapeUntil, startMeteredShip, startShip, waitFor } from '../helpers/ship-cli.js';

const receiver = receivers();

/** The records whose lines were read whole: the first `valid` of the ledger (it has no invalid line). */
function taken(ledger: Ledger, s: ShipSummary): Ledger {
  const read = new Ledger(0, 0);
  read.ids.push(...ledger.ids.slice(0, s.valid));
  return read;
}

/** A pipe read in 64 KB pieces stops mid-line: that one line is reported as cut, never silently lost. */
function assertCutLine(s: ShipSummary): void {
  const byCode = s.invalidByCode;
  assert.equal(s.invalid, byCode['cut-at-stop'] ?? 0, 'the only invalid line is the one cut by the stop');
  assert.ok(s.invalid! <= 1);
}

/** The next run on the spool delivers everything left there; returns the ids received. */
async function drain(spoolDir: string): Promise<string[]> {
  const r = await receiver();
  const res = await runCli(['--port', String(r.port), '--summary', 'json'], { env: { AUDIT_SHIP_SPOOL_DIR: spoolDir } });
  assert.equal(res.code, EXIT.ok, res.stderr);
  return r.requestIds();
}

describe('a stop signal never drops what was read', () => {
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`${signal} with the spool full and Fluentd down: every line taken from stdin is spooled`, async () => {
      const ledger = new Ledger(10_000, 41);
      const spoolDir = join(tempDir(), 'spool');
      const ship = await startMeteredShip(
        ['--port', '1', '--spool-max-bytes', '1m', '--chunk-records', '200', '--shutdown-timeout', '200ms'],
        { AUDIT_SHIP_SPOOL_DIR: spoolDir },
      );
      ship.child.stdin!.write(ledger.text());
      // The spool fills and holds the input back; then the signal.
      await scrapeUntil(ship, (m) => (m.get('audit_ship_spool_bytes') ?? 0) > 800_000, 'a full spool');
      const code = await ship.exit(signal);
      assert.equal(code, EXIT.inputUnread, ship.stderr());
      const s = jsonSummary(ship.stderr());
      assertAccounted(s);
      assert.equal(s.recordsNotSpooled, 0, 'nothing read was left out of the spool');
      assert.ok(s.lines! < ledger.ids.length, 'the input was held back, not read to its end');
      assert.equal(s.leftInSpool, s.valid, 'everything read is in the spool, over its cap if need be');
      assertCutLine(s);
      // The whole lines taken are the first `valid` of the pipe: each of them is delivered by the next run.
      taken(ledger, s).assertComplete(await drain(spoolDir));
    });
  }

  it('SIGTERM on a checkpointed file with the spool full: the accounting adds up, and a re-run delivers the rest', async () => {
    const ledger = new Ledger(10_000, 43);
    const dir = tempDir();
    const input = join(dir, 'audit.jsonl');
    writeFileSync(input, ledger.text());
    const spoolDir = join(dir, 'spool');
    const args = ['--chunk-records', '200', '--checkpoint', join(dir, 'cp.json'), input];
    const ship = await startMeteredShip(['--port', '1', '--spool-max-bytes', '1m', '--shutdown-timeout', '200ms', ...args], {
      AUDIT_SHIP_SPOOL_DIR: spoolDir,
    });
    await scrapeUntil(ship, (m) => (m.get('audit_ship_spool_bytes') ?? 0) > 800_000, 'a full spool');
    assert.equal(await ship.exit('SIGTERM'), EXIT.inputUnread, ship.stderr());
    const s = jsonSummary(ship.stderr());
    assertAccounted(s);
    assert.equal(s.invalid, 0, 'a file is left between lines');
    assert.equal(s.leftInSpool, s.valid);
    const r = await receiver();
    const again = await runCli(['--port', String(r.port), ...args], { env: { AUDIT_SHIP_SPOOL_DIR: spoolDir } });
    assert.equal(again.code, EXIT.ok, again.stderr);
    ledger.assertComplete(r.requestIds());
  });

  it('SIGTERM while shipping to a live receiver: the accounting adds up and nothing read is lost', async () => {
    const ledger = new Ledger(20_000, 42);
    const spoolDir = join(tempDir(), 'spool');
    const r = await receiver();
    const ship = await startMeteredShip(['--port', String(r.port), '--chunk-records', '200'], { AUDIT_SHIP_SPOOL_DIR: spoolDir });
    ship.child.stdin!.write(ledger.text());
    await waitFor(() => r.events().length > 1000, 'the first acks');
    const code = await ship.exit('SIGTERM');
    assert.ok(code === EXIT.inputUnread || code === EXIT.ok, ship.stderr());
    const s = jsonSummary(ship.stderr());
    assertAccounted(s);
    assert.equal(s.recordsNotSpooled, 0);
    assertCutLine(s);
    const first = r.requestIds();
    taken(ledger, s).assertComplete([...first, ...(s.leftInSpool! > 0 ? await drain(spoolDir) : [])]);
  });

  it('a second SIGINT ends the wait for acks: nothing unacked is lost, the next run delivers it', async (t) => {
    const holder = new FaultServer(() => 'hold');
    const port = await holder.listen();
    t.after(() => holder.close());
    const ledger = new Ledger(300, 43);
    const spoolDir = join(tempDir(), 'spool');
    // The wait for acks is set far beyond the test's own timeout: only the second signal ends it.
    const args = ['--port', String(port), '--flush-interval', '50ms', '--shutdown-timeout', '1h', '--summary', 'json'];
    const ship = startShip(args, { AUDIT_SHIP_SPOOL_DIR: spoolDir });
    ship.child.stdin!.write(ledger.text());
    await waitFor(() => holder.chunks.reduce((n, c) => n + c.records.length, 0) === 300, 'every record sent, its ack held');
    ship.child.kill('SIGINT');
    await waitFor(
      () => /SIGINT: reading stopped, waiting up to 1 h for acks \(SIGINT again: stop now\)/.test(ship.stderr()),
      'the first stop',
    );
    assert.equal(await ship.exit('SIGINT'), EXIT.inputUnread, ship.stderr());
    assert.match(ship.stderr(), /SIGINT again: not waiting for acks; what is not acked stays in the spool/);
    const s = jsonSummary(ship.stderr());
    assert.equal(s.recordsAcked, 0);
    assert.equal(s.leftInSpool, 300);
    ledger.assertComplete(await drain(spoolDir));
  });

  it('a stop once every input is read says so, waits for the acks, and a second ends the wait: exit 3, the next run delivers', async (t) => {
    const holder = new FaultServer(() => 'hold');
    const port = await holder.listen();
    t.after(() => holder.close());
    const ledger = new Ledger(300, 44);
    const dir = tempDir();
    const file = join(dir, 'audit.log');
    writeFileSync(file, ledger.text());
    const spoolDir = join(dir, 'spool');
    const ship = startShip(['--port', String(port), '--shutdown-timeout', '1h', '--summary', 'json', file], {
      AUDIT_SHIP_SPOOL_DIR: spoolDir,
    });
    await waitFor(() => holder.chunks.reduce((n, c) => n + c.records.length, 0) === 300, 'every record sent, its ack held');
    ship.child.kill('SIGTERM');
    await waitFor(
      () => /SIGTERM: every input was read already; waiting up to 1 h for its acks \(SIGTERM again: stop now\)/.test(ship.stderr()),
      'the first stop, said as what it is',
    );
    assert.doesNotMatch(ship.stderr(), /reading stopped/);
    assert.equal(await ship.exit('SIGTERM'), EXIT.leftInSpool, ship.stderr());
    const s = jsonSummary(ship.stderr());
    assert.equal(s.leftInSpool, 300);
    ledger.assertComplete(await drain(spoolDir));
  });
});
