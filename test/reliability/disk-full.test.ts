/**
 * A disk that fills up under the spool: no chunk is reported spooled, or checkpointed past, unless
 * every byte of it was written; a full disk is waited out while acks free room, or given up on
 * with exit 4 and the path and errno in words; a re-run then delivers every record.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { EXIT } from '../../src/cli/exit.js';
import { cliEnv, runCli, tempDir } from '../helpers/cli.js';
import { assertAccounted, Ledger } from '../helpers/ledger.js';
import { CLI } from '../helpers/paths.js';
import { receivers } from '../helpers/receive-cli.js';
import { mountTmpfs, onePageFree, tmpfsUnavailable } from '../helpers/tmpfs.js';
import { jsonSummary, startShip, waitFor } from '../helpers/ship-cli.js';

const receiver = receivers();

const skipTmpfs = tmpfsUnavailable('size=1m', 'the full-disk tests');

/** A tmpfs of `size` (mount's syntax, e.g. 2m), unmounted after the test, and a way to resize it. */
function smallDisk(t: TestContext, size: string): { dir: string; resize: (size: string) => void } {
  const dir = mountTmpfs(t, `size=${size}`);
  const resize = (to: string) => assert.equal(spawnSync('mount', ['-o', `remount,size=${to}`, dir]).status, 0);
  return { dir, resize };
}

/** A test that needs a tmpfs (root): skipped elsewhere, with the reason printed. */
const onTmpfs = (name: string, body: (t: TestContext) => Promise<void>) => it(name, { skip: skipTmpfs ?? false }, body);

describe('a full disk under the spool', () => {
  it('under `ulimit -f`, short writes are completed or moved to a new segment: every record delivered', async () => {
    // A 1.5 MB file size limit, under the 8 MB segments of a 100 MB spool: every segment hits it.
    const ledger = new Ledger(20_000, 31);
    const dir = tempDir();
    const input = join(dir, 'audit.jsonl');
    writeFileSync(input, ledger.text());
    const r = await receiver();
    const child = spawn(
      'bash',
      [
        '-c',
        `ulimit -f 1500; exec "$0" "$@"`,
        process.execPath,
        CLI,
        '--port',
        String(r.port),
        '--spool-max-bytes',
        '100m',
        '--chunk-records',
        '500',
        '--checkpoint',
        join(dir, 'cp.json'),
        '--summary',
        'json',
        input,
      ],
      { env: cliEnv(), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, EXIT.ok, stderr);
    const s = jsonSummary(stderr);
    assert.equal(s.damagedSpoolRanges, 0, 'no torn chunk was left behind');
    assertAccounted(s);
    ledger.assertComplete(r.requestIds());
  });

  onTmpfs('gives up after --retry-timeout with exit 4, the path and errno, and a re-run delivers every record', async (t) => {
    const ledger = new Ledger(20_000, 32);
    const dir = tempDir();
    const input = join(dir, 'audit.jsonl');
    writeFileSync(input, ledger.text());
    const disk = smallDisk(t, '2m');
    const spool = join(disk.dir, 'spool');
    const args = ['--chunk-records', '500', '--checkpoint', join(dir, 'cp.json'), '--summary', 'json', input];
    const full = await runCli(['--port', '1', '--retry-timeout', '1s', ...args], { env: { AUDIT_SHIP_SPOOL_DIR: spool } });
    assert.equal(full.code, EXIT.inputUnread, full.stderr);
    assert.match(full.stderr, new RegExp(`cannot write to the spool segment ${spool}/\\d+\\.seg: no space left on device \\(ENOSPC\\)`));
    assert.match(full.stderr, /records? (was|were) read but not written to the spool/);
    const s = jsonSummary(full.stderr);
    assert.ok(s.recordsNotSpooled! > 0, 'the records read ahead of the full disk are counted, not lost silently');
    assert.equal(s.leftInSpool, s.recordsSpooled);
    assertAccounted(s);

    disk.resize('64m');
    const r = await receiver();
    const again = await runCli(['--port', String(r.port), ...args], { env: { AUDIT_SHIP_SPOOL_DIR: spool } });
    assert.equal(again.code, EXIT.ok, again.stderr);
    assert.equal(jsonSummary(again.stderr).damagedSpoolRanges, 0, 'the failed write left no torn chunk');
    ledger.assertComplete(r.requestIds());
  });

  // It said the write was retried "as acks free room" with nothing in the spool to ack: a disk with
  // less room than one chunk, waited on for --retry-timeout with no hint of what would help.
  onTmpfs(
    'a disk with less room than a chunk and an empty spool: says no ack will free any, and names --chunk-bytes, which lets it through',
    async (t) => {
      const ledger = new Ledger(3000, 36);
      const disk = smallDisk(t, '512k');
      const env = { AUDIT_SHIP_SPOOL_DIR: join(disk.dir, 'spool') };
      const stuck = await runCli(['--port', '1', '--retry-timeout', '1s'], { input: ledger.text(), env });
      assert.equal(stuck.code, EXIT.inputUnread, stuck.stderr);
      assert.match(
        stuck.stderr,
        /ENOSPC\); reading waits, and the write is retried once room is made on the disk: the spool holds nothing awaiting an ack, so no ack will free any \(\d+\.\d kB free there; a chunk takes up to 1\.0 MB, --chunk-bytes\)/,
      );
      const r = await receiver();
      const res = await runCli(['--port', String(r.port), '--chunk-bytes', '128k'], { input: ledger.text(), env });
      assert.equal(res.code, EXIT.ok, res.stderr);
      ledger.assertComplete(r.requestIds());
    },
  );

  // With stdin read to its end, the hint said "the rest of  was not read", naming no input.
  onTmpfs('records read from stdin to its end but never spooled: exit 4 says stdin cannot be read again', async (t) => {
    const disk = onePageFree(t, 64);
    const res = await runCli(['--port', '1', '--retry-timeout', '1s', '--spool-dir', join(disk.dir, 'spool')], {
      input: new Ledger(100, 39).text(),
    });
    assert.equal(res.code, EXIT.inputUnread, res.stderr);
    assert.match(
      res.stderr,
      /100 records were read but not written to the spool \(.*\); they must be read again: stdin cannot be read again: send that input again\n/,
    );
  });

  onTmpfs('waits while the disk is full and goes on as acks free room: stdin, every record delivered', async (t) => {
    const ledger = new Ledger(20_000, 33);
    const disk = smallDisk(t, '2m');
    // Someone else's file leaves about 600 KB: less than the chunks in flight.
    mkdirSync(join(disk.dir, 'other'));
    writeFileSync(join(disk.dir, 'other', 'filler'), Buffer.alloc(1400 * 1024));
    const r = await receiver();
    const res = await runCli(['--port', String(r.port), '--chunk-records', '200', '--spool-max-bytes', '4m', '--summary', 'json'], {
      input: ledger.text(),
      env: { AUDIT_SHIP_SPOOL_DIR: join(disk.dir, 'spool') },
    });
    assert.equal(res.code, EXIT.ok, res.stderr);
    assert.match(res.stderr, /no space left on device \(ENOSPC\); reading waits/);
    assert.match(res.stderr, /the spool has room again/);
    // A spool that fills the rest of its disk fills it at almost every chunk: a pair of lines
    // each time buried stderr; the fills after the first are counted and said together.
    assert.equal(res.stderr.match(/no space left on device/g)?.length, 1, res.stderr);
    assert.equal(res.stderr.match(/the spool has room again/g)?.length, 1, res.stderr);
    assert.match(
      res.stderr,
      /the disk under the spool filled (once more|\d+ more times) since; each time reading waited until room was freed/,
    );
    assertAccounted(jsonSummary(res.stderr));
    ledger.assertComplete(r.requestIds());
  });

  /**
   * 5,000 records in a file, a receiver, and a checkpoint on a 64 KiB tmpfs that someone else's
   * file leaves one page of: the checkpoint's lock takes it, and its first save finds none.
   */
  async function checkpointOnFullDisk(t: TestContext, seed: number) {
    const ledger = new Ledger(5000, seed);
    const input = join(tempDir(), 'audit.jsonl');
    writeFileSync(input, ledger.text());
    const disk = onePageFree(t, 64);
    return { ledger, input, disk, checkpoint: join(disk.dir, 'cp.json'), r: await receiver() };
  }

  // The spool waited out a full disk, but a --checkpoint save on it stopped the backfill at once
  // (exit 4): with both on one disk, the save after the spool's wait found the room taken again.
  onTmpfs('a --checkpoint save on a full disk waits for room as the spool does, and the backfill completes', async (t) => {
    const { ledger, input, disk, checkpoint, r } = await checkpointOnFullDisk(t, 37);
    const ship = startShip(['--port', String(r.port), '--checkpoint', checkpoint, '--summary', 'json', input]);
    const waiting = `cannot write the checkpoint ${checkpoint}: no space left on device (ENOSPC); reading waits, and the save is tried again once a second, giving up after 2 min (--retry-timeout)`;
    await waitFor(() => ship.stderr().includes(waiting) || ship.child.exitCode !== null, 'a wait for room, or the end');
    assert.equal(ship.child.exitCode, null, `still running, waiting for room: ${ship.stderr()}`);
    disk.makeRoom();
    assert.equal(await ship.exit(), EXIT.ok, ship.stderr());
    assert.equal(ship.stderr().match(/cannot write the checkpoint/g)?.length, 1, 'said once');
    ledger.assertComplete(r.requestIds());
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as { files: Record<string, { line: number; done: boolean }> };
    assert.deepEqual(Object.values(saved.files), [{ ...Object.values(saved.files)[0]!, line: 5000, done: true }]);
  });

  onTmpfs('a --checkpoint save on a disk that stays full gives up after --retry-timeout: exit 4, and a re-run completes', async (t) => {
    const { ledger, input, disk, checkpoint, r } = await checkpointOnFullDisk(t, 38);
    // Chunks of 200: reading holds at a few chunks past the last save, well before the input's end.
    const args = ['--port', String(r.port), '--checkpoint', checkpoint, '--chunk-records', '200', '--summary', 'json', input];
    const full = await runCli([...args, '--retry-timeout', '2s']);
    assert.equal(full.code, EXIT.inputUnread, full.stderr);
    assert.match(full.stderr, /reading waits, and the save is tried again once a second, giving up after 2 s \(--retry-timeout\)/);
    assert.match(full.stderr, new RegExp(`stopped: cannot write the checkpoint ${checkpoint}: no space left on device \\(ENOSPC\\)`));
    const s = jsonSummary(full.stderr);
    assert.ok(s.valid! < 5000, `reading waited for the save (${s.valid} of 5000 read)`);
    assertAccounted(s);
    disk.makeRoom();
    const again = await runCli(args);
    assert.equal(again.code, EXIT.ok, again.stderr);
    ledger.assertComplete(r.requestIds());
  });

  // The end said the line was not kept for want of a --dead-letter, when one was given and full.
  // It said "cannot write output: ENOSPC: no space left on device, write", naming no file.
  onTmpfs('lint --output on a full disk: exit 2, naming the report file and the errno in words', async (t) => {
    const disk = smallDisk(t, '64k');
    const report = join(disk.dir, 'report.json');
    const input = join(tempDir(), 'bad.jsonl');
    writeFileSync(input, '{"bad":1}\n'.repeat(3000));
    const res = await runCli(['lint', input, '--format', 'json', '--output', report]);
    assert.equal(res.code, EXIT.usage, res.stderr);
    assert.match(res.stderr, new RegExp(`cannot write --output ${report}: no space left on device \\(ENOSPC\\)`));
  });

  /** A backfill of 3,000 records with an invalid line after the first 1,500, its --dead-letter on a full 64 KB disk. */
  async function deadLetterOnFullDisk(t: TestContext, seed: number) {
    const disk = onePageFree(t, 64);
    const ledger = new Ledger(3000, seed);
    const input = join(tempDir(), 'audit.jsonl');
    const invalid = `{"RequestID":"${'x'.repeat(10_000)}"}\n`;
    writeFileSync(input, [...ledger.lines.slice(0, 1500), invalid, ...ledger.lines.slice(1500)].join(''));
    const dir = tempDir();
    const paths = { dead: join(disk.dir, 'dead.jsonl'), checkpoint: join(dir, 'cp.json'), spool: join(dir, 'spool') };
    return { disk, ledger, input, paths, r: await receiver() };
  }

  const deadLetterWaits = (dead: string, limit: string) =>
    `--dead-letter ${dead}: no space left on device (ENOSPC); 1 invalid line waits in memory and reading waits, tried again once a second, giving up after ${limit} (--retry-timeout)`;

  // An invalid line that found no room stopped the backfill at once (exit 4), while the spool
  // waited out the same disk.
  onTmpfs('a --dead-letter file on a full disk: the invalid line waits in memory for room, and the backfill completes', async (t) => {
    const { disk, ledger, input, paths, r } = await deadLetterOnFullDisk(t, 35);
    const ship = startShip(['--port', String(r.port), '--dead-letter', paths.dead, '--summary', 'json', input]);
    await waitFor(() => ship.stderr().includes(deadLetterWaits(paths.dead, '2 min')) || ship.child.exitCode !== null, 'a wait');
    assert.equal(ship.child.exitCode, null, `still running, waiting for room: ${ship.stderr()}`);
    disk.makeRoom();
    assert.equal(await ship.exit(), EXIT.ok, ship.stderr());
    assert.equal(ship.stderr().match(/invalid line waits in memory/g)?.length, 1, 'said once');
    const letters = readFileSync(paths.dead, 'utf8').trim().split('\n');
    assert.deepEqual(
      letters.map((l) => (JSON.parse(l) as { line: number }).line),
      [1501],
    );
    assert.equal(jsonSummary(ship.stderr()).deadLettered, 1);
    ledger.assertComplete(r.requestIds());
  });

  // Positions saved past a line whose letter waits in memory would let a crash skip it.
  onTmpfs('SIGKILLed while an invalid line waits for room: the checkpoint is not past it, and the re-run keeps it', async (t) => {
    const { disk, ledger, input, paths, r } = await deadLetterOnFullDisk(t, 36);
    const args = ['--port', String(r.port), '--dead-letter', paths.dead, '--checkpoint', paths.checkpoint];
    const ship = startShip([...args, '--spool-dir', paths.spool, '--chunk-records', '10', input]);
    await waitFor(() => ship.stderr().includes(deadLetterWaits(paths.dead, '2 min')) || ship.child.exitCode !== null, 'a wait');
    // Chunks of 10 past the line (the rest of its batch) are spooled and delivered while it waits.
    await waitFor(() => r.requestIds().length >= 1520 || ship.child.exitCode !== null, 'records past the line delivered');
    ship.child.kill('SIGKILL');
    await once(ship.child, 'exit');
    const saved = JSON.parse(readFileSync(paths.checkpoint, 'utf8')) as { files: Record<string, { line: number }> };
    assert.ok(Object.values(saved.files)[0]!.line <= 1500, `saved at line ${Object.values(saved.files)[0]!.line}`);
    disk.makeRoom();
    const again = await runCli([...args, '--spool-dir', paths.spool, input]);
    assert.equal(again.code, EXIT.ok, again.stderr);
    assert.equal(readFileSync(paths.dead, 'utf8').trim().split('\n').length, 1);
    ledger.assertComplete(r.requestIds());
  });

  onTmpfs('a --dead-letter disk that stays full is given up after --retry-timeout: exit 4, the line said not kept', async (t) => {
    const { ledger, input, paths, r } = await deadLetterOnFullDisk(t, 37);
    const res = await runCli(['--port', String(r.port), '--dead-letter', paths.dead, '--retry-timeout', '2s', input]);
    assert.equal(res.code, EXIT.inputUnread, res.stderr);
    assert.ok(res.stderr.includes(deadLetterWaits(paths.dead, '2 s')), res.stderr);
    assert.match(res.stderr, new RegExp(`stopped: --dead-letter ${paths.dead}: no space left on device \\(ENOSPC\\)`));
    assert.match(res.stderr, new RegExp(`1 invalid line was not kept \\(--dead-letter ${paths.dead} could not be written;`));
    const delivered = new Set(r.requestIds());
    assert.ok(
      ledger.ids.slice(0, 1500).every((id) => delivered.has(id)),
      'the records before the line delivered',
    );
  });

  onTmpfs('receive --out on a full disk acks nothing it did not write, keeps its file whole, and goes on when space returns', async (t) => {
    const ledger = new Ledger(20_000, 34);
    const disk = smallDisk(t, '2m');
    const out = join(disk.dir, 'events.jsonl');
    const r = await receiver(['--out', out]);
    const ship = startShip(['--port', String(r.port), '--chunk-records', '500', '--ack-timeout', '1s', '--summary', 'json']);
    ship.child.stdin!.end(ledger.text());
    await waitFor(
      () => /cannot write --out .*: no space left on device \(ENOSPC\); the chunk is not acked/.test(r.stderr()),
      'a refused chunk',
    );
    // Every line in the file is whole: a failed write was cut off again.
    for (const line of readFileSync(out, 'utf8').split('\n').slice(0, -1)) JSON.parse(line);
    disk.resize('64m');
    assert.equal(await ship.exit(), EXIT.ok, ship.stderr());
    const ids = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { record: { RequestID: string } }).record.RequestID);
    ledger.assertComplete(ids);
    assert.equal(await r.stop(), 0, r.stderr());
  });
});
