/**
 * `--checkpoint` knows files by identity (device, inode, first bytes), not by name: a file rotated
 * or replaced under the same name is read from its start, a truncated one too, and a file renamed
 * since (rotated to FILE.1) resumes where it stopped; a file rotated while an earlier input is
 * read is refused at its turn, never read as the file it replaced. Checked by RequestID on the
 * built CLI.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  createWriteStream,
  openSync,
  readFileSync,
  renameSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { Ledger } from '../helpers/ledger.js';
import { receivers } from '../helpers/receive-cli.js';
import { FaultServer } from '../helpers/fault-server.js';
import { jsonSummary, startMeteredShip, startShip, waitFor } from '../helpers/ship-cli.js';

const receiver = receivers();

/** Ships `files` with the checkpoint; returns the ids the receiver got and stderr. */
async function ship(checkpoint: string, files: string[]): Promise<{ ids: string[]; stderr: string }> {
  const r = await receiver();
  const res = await runCli(['--port', String(r.port), '--checkpoint', checkpoint, ...files]);
  assert.equal(res.code, EXIT.ok, res.stderr);
  return { ids: r.requestIds(), stderr: res.stderr };
}

/** A log file shipped once to its end with a checkpoint: the scene each test then changes. */
async function shippedLog(records: number, seed: number): Promise<{ dir: string; file: string; cp: string; first: Ledger }> {
  const dir = tempDir();
  const file = join(dir, 'audit.log');
  const cp = join(dir, 'cp.json');
  const first = new Ledger(records, seed);
  writeFileSync(file, first.text());
  first.assertComplete((await ship(cp, [file])).ids);
  return { dir, file, cp, first };
}

/**
 * A server that holds every ack until `release()` (the chunks it held come again after
 * --ack-timeout, and are acked then); `ackedIds` gives each acked chunk's records once.
 */
async function heldAcks(t: { after: (fn: () => Promise<void>) => void }) {
  let holding = true;
  const acked = new Set<string>();
  const server = new FaultServer((ctx) => {
    if (holding) return 'hold';
    acked.add(ctx.chunk);
    return 'ack';
  });
  const port = await server.listen();
  t.after(() => server.close());
  const ackedChunks = () => new Map(server.chunks.filter((c) => acked.has(c.chunk)).map((c) => [c.chunk, c])).values();
  return {
    port,
    release: () => void (holding = false),
    ackedIds: () => [...ackedChunks()].flatMap((c) => c.records.map((r) => r.record.RequestID as string)),
  };
}

/** The same records with other RequestIDs of the same length: a different file of exactly the same size. */
function sameSizeOther(ledger: Ledger): { text: string; ids: string[] } {
  const ids = ledger.ids.map((id) => `${id[0] === 'a' ? 'b' : 'a'}${id.slice(1)}`);
  return { text: ledger.lines.map((l, i) => l.replace(ledger.ids[i]!, ids[i]!)).join(''), ids };
}

describe('--checkpoint and rotated files', () => {
  it('a new file of the same size under the old name is read from its start, not skipped as shipped', async () => {
    const { file, cp, first } = await shippedLog(1000, 51);
    const other = sameSizeOther(first);
    writeFileSync(file, other.text);
    assert.equal(readFileSync(file).length, first.text().length);
    const second = await ship(cp, [file]);
    assert.match(
      second.stderr,
      /is not the file checkpointed under this name \(its first bytes differ: rotated or replaced\): reading it from the start/,
    );
    assert.deepEqual(second.ids, other.ids);
  });

  it('a bigger new file under the old name is read from its start, not resumed at the old offset', async () => {
    const { dir, file, cp } = await shippedLog(1045, 52);
    const next = new Ledger(2000, 53);
    writeFileSync(join(dir, 'new'), next.text());
    renameSync(join(dir, 'new'), file);
    const second = await ship(cp, [file]);
    assert.deepEqual(second.ids, next.ids);
  });

  it('a truncated file (copytruncate) is read from its start', async () => {
    const { file, cp } = await shippedLog(800, 54);
    const next = new Ledger(300, 55);
    writeFileSync(file, next.text()); // the same inode, cut and written again
    const second = await ship(cp, [file]);
    assert.match(second.stderr, /reading it from the start/);
    assert.deepEqual(second.ids, next.ids);
  });

  it('a file rotated to FILE.1 after it grew resumes where it stopped; the new FILE is read whole', async () => {
    const dir = tempDir();
    const file = join(dir, 'audit.log');
    const cp = join(dir, 'cp.json');
    const all = new Ledger(2000, 56);
    writeFileSync(file, all.lines.slice(0, 1000).join(''));
    await ship(cp, [file]);
    appendFileSync(file, all.lines.slice(1000).join('')); // the log grows, then is rotated
    renameSync(file, `${file}.1`);
    const fresh = new Ledger(500, 57);
    writeFileSync(file, fresh.text());
    const second = await ship(cp, [`${file}.1`, file]);
    assert.match(second.stderr, /audit\.log\.1: is .*audit\.log renamed \(same device, inode and first bytes\): resuming after line 1000/);
    assert.deepEqual(second.ids, [...all.ids.slice(1000), ...fresh.ids], 'no record twice, none missed');
  });

  // A backfill reading the live log when logrotate's copytruncate runs: the lines after the read
  // position are in the copy, no longer under the name. "Read to its end" (exit 0) hid them.
  for (const stdin of [false, true]) {
    const what = stdin ? 'stdin redirected from a file' : 'a file';
    it(`${what} cut under the read (copytruncate) stops at its last whole line, exit 4${stdin ? '' : '; the copy resumes there'}`, async (t) => {
      const dir = tempDir();
      const file = join(dir, 'audit.log');
      const cp = join(dir, 'cp.json');
      const ledger = new Ledger(5000, stdin ? 62 : 61);
      writeFileSync(file, ledger.text());
      const server = await heldAcks(t);
      const args = ['--port', String(server.port), '--chunk-records', '100', '--spool-max-bytes', '1m', '--ack-timeout', '1s'];
      const fd = openSync(file, 'r');
      t.after(() => closeSync(fd));
      const run = stdin ? await startMeteredShip(args, {}, fd) : await startMeteredShip([...args, '--checkpoint', cp, file]);
      await run.unreadyWith('the spool is full'); // reading waits for acks, partway through the file
      copyFileSync(file, `${file}.1`);
      truncateSync(file, 0);
      server.release();
      assert.equal(await run.exit(), EXIT.inputUnread, run.stderr());
      const where = stdin
        ? '<stdin>: was cut to 0 bytes while it was read'
        : 'audit\\.log: was cut to 0 bytes while it was read, at byte \\d+ of \\d+';
      assert.match(run.stderr(), new RegExp(`${where} \\(a copytruncate rotation\\?\\): what followed was not read`));
      const summary = jsonSummary(run.stderr());
      assert.equal(summary.invalid, 0, 'the line the cut split is not called invalid');
      const shipped = ledger.ids.slice(0, summary.valid);
      assert.deepEqual(server.ackedIds(), shipped, 'the lines before the cut, in order');
      assert.ok(shipped.length < 5000);
      if (stdin) return;
      const again = await ship(cp, [`${file}.1`, file]);
      assert.match(again.stderr, new RegExp(`audit\\.log\\.1: .*resuming after line ${shipped.length}`));
      assert.deepEqual(again.ids, ledger.ids.slice(shipped.length), 'the copy shipped from the cut on: every record once');
    });
  }

  for (const gzip of [false, true]) {
    it(`a ${gzip ? '.gz' : 'file'} rotated while an earlier input is read is refused at its turn; a re-run ships both files once`, async () => {
      const dir = tempDir();
      const ext = gzip ? '.gz' : '';
      const [one, two] = [join(dir, `audit.log.1${ext}`), join(dir, `audit.log.2${ext}`)];
      const write = (path: string, ledger: Ledger) => writeFileSync(path, gzip ? gzipSync(ledger.text()) : ledger.text());
      const cp = join(dir, 'cp.json');
      const [piped, old, rotatedIn] = [new Ledger(50, 58), new Ledger(300, 59), new Ledger(400, 60)];
      write(one, old);
      // The first input is a FIFO (stdin cannot be checkpointed), held open until the rotation is done.
      const fifo = join(dir, 'earlier.fifo');
      execFileSync('mkfifo', [fifo]);
      const r = await receiver();
      const run = startShip(['--port', String(r.port), '--checkpoint', cp, '--flush-interval', '50ms', fifo, one]);
      const writer = createWriteStream(fifo);
      writer.write(piped.text());
      // Every input was opened and checked before the FIFO's records could arrive.
      await waitFor(() => r.requestIds().length === piped.ids.length, "the FIFO's records at the receiver");
      // Numbered rotation: each file moves up one, and a new one takes the first name.
      renameSync(one, two);
      write(one, rotatedIn);
      writer.end();
      assert.equal(await run.exit(), EXIT.inputUnread, run.stderr());
      assert.match(run.stderr(), /audit\.log\.1(\.gz)?: was replaced by another file \(rotated\?\) after the run started/);
      assert.deepEqual(r.requestIds(), piped.ids, 'nothing read from the file that took the name');
      const again = await ship(cp, [one, two]);
      assert.deepEqual(again.ids, [...rotatedIn.ids, ...old.ids], 'each file once, whole');
    });
  }
});
