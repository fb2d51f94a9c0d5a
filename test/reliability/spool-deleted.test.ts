/**
 * The spool's files deleted or changed under a running shipper by something other than audit-ship
 * (a person, a cleaner of old files under /tmp, the disk): what they held is counted lost (exit 6),
 * never said to "stay in the spool", never sent as records no one wrote, and never holds the run
 * open; what comes after is spooled and delivered.
 */
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { FaultServer } from '../helpers/fault-server.js';
import { freePort } from '../helpers/net.js';
import { assertAccounted, assertSummaryMatchesMetrics, Ledger } from '../helpers/ledger.js';
import { jsonSummary, startMeteredShip, waitFor, type MeteredShip } from '../helpers/ship-cli.js';

/**
 * A server on a port nothing listens on until `open()` (the chunks wait in the spool, none in
 * flight), or, `holding`, one that holds every ack until then (one chunk in flight, its body
 * given up once written). It knows which chunks it acked.
 */
async function gate(t: { after: (fn: () => Promise<void>) => void }, holding = false) {
  let open = false;
  const acked = new Set<string>();
  const server = new FaultServer((ctx) => {
    if (!open) return 'hold';
    acked.add(ctx.chunk);
    return 'ack';
  });
  const port = holding ? await server.listen() : await freePort();
  t.after(() => server.close());
  return {
    port,
    open: async () => {
      open = true;
      if (!holding) await server.listen(port);
    },
    /** RequestIDs of the records in acked chunks. */
    ackedIds: () => server.chunks.filter((c) => acked.has(c.chunk)).flatMap((c) => c.records.map((r) => r.record.RequestID as string)),
  };
}

async function spooled(ship: MeteredShip, records: number): Promise<void> {
  for (;;) {
    const m = await ship.scrape();
    if (m.get('audit_ship_records_valid_total') === records && m.get('audit_ship_spool_records') === records) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The last scrape, once nothing waits in the spool (stdin still open): what the summary must agree with. */
async function drained(ship: MeteredShip): Promise<Map<string, number>> {
  for (;;) {
    const m = await ship.scrape();
    if (m.get('audit_ship_spool_records') === 0 && m.get('audit_ship_chunks_in_flight') === 0) return m;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// Chunks of 100 records (~110 KB): the spool keeps the bodies of the first 2 MB of queued chunks in
// memory, and reads the rest back from disk; one chunk in flight at a time.
const CHUNKS = ['--chunk-records', '100', '--window', '1', '--ack-timeout', '1s', '--flush-interval', '50ms'];

/**
 * A shipper on stdin behind `gate`, given `records` records (seeded with `seed`) that wait in its
 * spool: what each case then does to the spool's files.
 */
async function spooledOnStdin(
  t: { after: (fn: () => Promise<void>) => void },
  records: number,
  seed: number,
  { holding = false, extra = [] as string[] } = {},
) {
  const server = await gate(t, holding);
  const spoolDir = join(tempDir(), 'spool');
  const ledger = new Ledger(records, seed);
  const args = ['--port', String(server.port), '--spool-dir', spoolDir, ...CHUNKS];
  const ship = await startMeteredShip([...args, ...extra]);
  ship.child.stdin!.write(ledger.text());
  await spooled(ship, records);
  return { server, spoolDir, ledger, args, ship };
}

describe('spool files deleted by something else while the run uses them', () => {
  it('its segments, during an outage: their records counted lost (exit 6), the rest delivered, and the run ends', async (t) => {
    const { server, spoolDir, ledger, ship } = await spooledOnStdin(t, 3000, 91, { holding: true });
    for (const name of readdirSync(spoolDir)) if (name.endsWith('.seg')) unlinkSync(join(spoolDir, name));
    // The chunk held in flight is resent after its ack timeout, read back from its deleted file.
    await server.open();
    const metrics = await drained(ship);
    assert.equal(await ship.exit(), EXIT.dropped, ship.stderr());
    const summary = jsonSummary(ship.stderr());
    const lost = ledger.missing(server.ackedIds());
    assert.ok(lost.length >= 100, `the chunk in flight at least was lost (${lost.length})`);
    assert.ok(lost.length < 3000, 'bodies still in memory were delivered');
    assert.equal(summary.vanishedFromSpool, lost.length, 'exactly the records not delivered are counted lost');
    assert.equal(summary.recordsAcked, 3000 - lost.length);
    assert.equal(summary.leftInSpool, 0, 'none said to stay in a spool that no longer holds them');
    assertAccounted(summary);
    assertSummaryMatchesMetrics(summary, metrics);
    assert.match(ship.stderr(), /the spool file \S+0001\.seg is gone, deleted by something other than audit-ship/);
    assert.match(ship.stderr(), new RegExp(`exit 6: ${lost.length} records were lost unsent: the spool files holding them`));
  });

  // Fluentd never came back, so no chunk's turn came: the end must not count the deleted records as
  // left in the spool, where the next run would never find them.
  it('its segments, and the run ends before their turn: the bodies in memory spooled again, the rest counted lost', async (t) => {
    const { server, spoolDir, ledger, args, ship } = await spooledOnStdin(t, 3000, 96, { extra: ['--retry-timeout', '1s'] });
    for (const name of readdirSync(spoolDir)) if (name.endsWith('.seg')) unlinkSync(join(spoolDir, name));
    ship.child.stdin!.end();
    assert.equal(await ship.exit(), EXIT.leftInSpool, ship.stderr());
    const summary = jsonSummary(ship.stderr());
    assert.ok(summary.leftInSpool > 0 && summary.leftInSpool < 3000, `the bodies still in memory kept (${summary.leftInSpool})`);
    assert.equal(summary.vanishedFromSpool, 3000 - summary.leftInSpool, 'every other record counted lost');
    assertAccounted(summary);
    assert.match(ship.stderr(), /the spool file \S+0001\.seg is gone, deleted by something other than audit-ship/);
    assert.match(ship.stderr(), new RegExp(`${summary.vanishedFromSpool} records were lost unsent`));
    await server.open();
    const next = await runCli(args);
    assert.equal(next.code, EXIT.ok, next.stderr);
    const lost = ledger.missing(server.ackedIds());
    assert.equal(lost.length, summary.vanishedFromSpool, 'the next run delivered exactly what was said to stay in the spool');
    assert.deepEqual(lost, ledger.ids.slice(summary.leftInSpool), 'the oldest chunks, whose bodies were in memory, kept in order');
  });

  // The checkpoint records lines once spooled: "read the input again" with the same one skipped the
  // lost records, file done. The message says so, and a new checkpoint ships them.
  it('its segments in a checkpointed backfill: the message says a re-run needs a new checkpoint, which ships them', async (t) => {
    const server = await gate(t, true);
    const dir = tempDir();
    const spoolDir = join(dir, 'spool');
    const ledger = new Ledger(3000, 95);
    const log = join(dir, 'audit.log');
    writeFileSync(log, ledger.text());
    const checkpoint = join(dir, 'cp.json');
    const args = ['--port', String(server.port), '--spool-dir', spoolDir, ...CHUNKS];
    const ship = await startMeteredShip([...args, '--checkpoint', checkpoint, log]);
    await spooled(ship, 3000);
    for (const name of readdirSync(spoolDir)) if (name.endsWith('.seg')) unlinkSync(join(spoolDir, name));
    await server.open();
    assert.equal(await ship.exit(), EXIT.dropped, ship.stderr());
    const lost = ledger.missing(server.ackedIds());
    assert.ok(lost.length > 0);
    assert.match(ship.stderr(), new RegExp(`the checkpoint ${checkpoint} counts their lines as shipped and a re-run with it skips them`));
    const same = await runCli([...args, '--checkpoint', checkpoint, log]);
    assert.equal(same.code, EXIT.ok, same.stderr);
    assert.deepEqual(ledger.missing(server.ackedIds()), lost, 'the same checkpoint skips the file: what the message warns of');
    const fresh = await runCli([...args, '--checkpoint', join(dir, 'cp2.json'), log]);
    assert.equal(fresh.code, EXIT.ok, fresh.stderr);
    ledger.assertComplete(server.ackedIds());
  });

  it('the whole directory: made again, and what is read after it is spooled and delivered', async (t) => {
    const { server, spoolDir, ledger: before, ship } = await spooledOnStdin(t, 3000, 92);
    const after = new Ledger(1000, 93);
    rmSync(spoolDir, { recursive: true });
    await waitFor(() => existsSync(join(spoolDir, 'lock')), 'the spool and its lock made again');
    // Its first chunk goes where the last went, the deleted segment still open, and is written again
    // in a new one; past the bodies the spool keeps in memory, each is read back from its file.
    ship.child.stdin!.write(after.text());
    await spooled(ship, 4000);
    await server.open();
    const metrics = await drained(ship);
    assert.equal(await ship.exit(), EXIT.dropped, ship.stderr());
    assert.deepEqual(after.missing(server.ackedIds()), [], 'every record read after the deletion arrived');
    const summary = jsonSummary(ship.stderr());
    assert.equal(summary.vanishedFromSpool, before.missing(server.ackedIds()).length);
    assert.ok(summary.vanishedFromSpool > 0);
    assertAccounted(summary);
    assertSummaryMatchesMetrics(summary, metrics);
    assert.match(ship.stderr(), /the spool \S+ was deleted while this run used it, by something other than audit-ship; made again/);
    assert.doesNotMatch(ship.stderr(), /taken by another/);
  });

  it('its lock alone: made again, nothing lost (exit 0)', async (t) => {
    const { server, spoolDir, ledger, ship } = await spooledOnStdin(t, 500, 94);
    unlinkSync(join(spoolDir, 'lock'));
    await waitFor(() => existsSync(join(spoolDir, 'lock')), 'the lock made again');
    await server.open();
    assert.equal(await ship.exit(), EXIT.ok, ship.stderr());
    ledger.assertComplete(server.ackedIds());
    assert.match(ship.stderr(), /the spool's lock \S+ was deleted while this run held it, by something other than audit-ship; made again/);
  });
});

describe('a spool file changed by something else while the run uses it', () => {
  it('a chunk that fails its checksum when read back: never sent, its records counted lost (exit 6), the rest delivered', async (t) => {
    const { server, spoolDir, ledger, ship } = await spooledOnStdin(t, 3000, 97);
    // The last chunk, past the 2 MB of bodies kept in memory: it is read back from its file.
    const last = join(
      spoolDir,
      readdirSync(spoolDir)
        .filter((name) => name.endsWith('.seg'))
        .sort()
        .at(-1)!,
    );
    const data = readFileSync(last);
    const frame = data.lastIndexOf('ASC2');
    const records = data.readUInt32BE(frame + 12 + 4);
    const fd = openSync(last, 'r+');
    writeSync(fd, Buffer.from('XXXXXXXX'), 0, 8, frame + Math.floor((data.length - frame) / 2));
    closeSync(fd);
    await server.open();
    const metrics = await drained(ship);
    ship.child.stdin!.end();
    assert.equal(await ship.exit(), EXIT.dropped, ship.stderr());
    const summary = jsonSummary(ship.stderr());
    assert.equal(summary.vanishedFromSpool, records, 'the records of the changed chunk counted lost');
    assert.deepEqual(ledger.missing(server.ackedIds()), ledger.ids.slice(3000 - records), 'exactly the last chunk withheld');
    assert.equal(server.ackedIds().length, 3000 - records, 'nothing else sent');
    assertAccounted(summary);
    assertSummaryMatchesMetrics(summary, metrics);
    assert.match(ship.stderr(), /the spool file \S+\.seg was changed since audit-ship wrote it/);
    assert.match(
      ship.stderr(),
      new RegExp(`exit 6: ${records} records were lost unsent: the spool files holding them in \\S+ were deleted or changed`),
    );
  });
});
