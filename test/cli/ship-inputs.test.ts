/**
 * `audit-ship` end to end on its inputs: kubectl missing, checkpoints, dead letters, since/until,
 * --stdout and --require-conn. Real processes: the built CLI into `audit-ship receive`.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit.js';
import { gzipSync } from 'node:zlib';
import { parseTimestamp } from '../../src/schema/timestamp.js';
import { assertDoneThenSkipped } from '../helpers/checkpoint.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { receivers } from '../helpers/receive-cli.js';
import { jsonSummary, scrapeUntil, startMeteredShip, startShip, waitFor, SMALL_DROPPING_SPOOL } from '../helpers/ship-cli.js';
import type { DeadLetter } from '../../src/ship/dead-letter.js';
import { idOf, lines, smallFiles } from '../helpers/ledger.js';

const receiver = receivers();

describe('audit-ship --kubectl', () => {
  it('fails with a clear error when kubectl is not installed', async () => {
    const res = await runCli(['--kubectl', 'deploy/x', '--port', '1'], { env: { PATH: tempDir() } });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--kubectl: kubectl was not found on PATH \(install kubectl .*\) \(ERR_AUDIT_SHIP_INPUT\)/);
    const path = join(tempDir(), 'bin', 'kubectl');
    const named = await runCli(['--kubectl', 'deploy/x', '--port', '1', '--kubectl-command', path]);
    assert.equal(named.code, 2);
    assert.ok(
      named.stderr.includes(`--kubectl: ${path} does not exist (--kubectl-command names kubectl's path) (ERR_AUDIT_SHIP_INPUT)`),
      named.stderr,
    );
  });
});

describe('audit-ship --checkpoint', () => {
  for (const kind of ['plain', 'gzip'] as const) {
    it(`resumes a stopped backfill (${kind}) where it stopped, and skips a finished file`, async () => {
      const r = await receiver();
      const dir = tempDir();
      const records = lines(400, kind === 'plain' ? 42 : 43);
      const file = join(dir, kind === 'plain' ? 'audit.log' : 'audit.log.gz');
      writeFileSync(file, kind === 'plain' ? records.join('') : gzipSync(records.join('')));
      const checkpoint = join(dir, 'checkpoint.json');
      const args = ['--port', String(r.port), '--checkpoint', checkpoint, '--chunk-records', '25', '--summary', 'json', file];

      const first = startShip([...args, '--rate', '300', '--flush-interval', '50ms']);
      await waitFor(() => r.events().length >= 100, '100 records from the first run');
      assert.equal(await first.exit('SIGINT'), EXIT.inputUnread, first.stderr());
      const firstCount = r.events().length;
      assert.ok(firstCount < 400, `the first run was stopped early (${firstCount})`);
      const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as { files: Record<string, { line: number; done: boolean }> };
      const progress = Object.values(saved.files)[0]!;
      assert.equal(progress.done, false);
      assert.equal(progress.line, jsonSummary(first.stderr()).lines);

      const second = await runCli(args);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stderr, new RegExp(`resuming after line ${progress.line} \\(checkpoint\\)`));
      const ids = r.requestIds();
      assert.equal(ids.length, 400, 'each record exactly once across both runs');
      assert.deepEqual(new Set(ids), new Set(records.map(idOf)));

      const third = await runCli(args);
      assert.equal(third.code, 0);
      assert.equal(jsonSummary(third.stderr).filesAlreadyShipped, 1);
      assert.equal(r.events().length, 400);
    });
  }

  it('ships many small files in shared chunks, and marks each done once its records are spooled', async () => {
    const r = await receiver();
    const dir = tempDir();
    const { files, records } = smallFiles(dir, 12, 30, 60);
    const checkpoint = join(dir, 'checkpoint.json');
    const args = ['--port', String(r.port), '--checkpoint', checkpoint, '--chunk-records', '100', '--summary', 'json', ...files];

    const first = await runCli(args);
    assert.equal(first.code, 0, first.stderr);
    const summary = jsonSummary(first.stderr);
    // 360 records in chunks of 100: a chunk closed at the end of each file would make 12.
    assert.equal(summary.chunksSpooled, 4);
    assert.deepEqual(r.requestIds(), records.flat().map(idOf), 'every record once, in the order of the files');
    await assertDoneThenSkipped(args, checkpoint, files, 30, () => r.events().length, 360);
  });

  it('counts the bytes of the files already read in the input bytes metric while it reads the next', async () => {
    const r = await receiver();
    const dir = tempDir();
    // One reader (--rate), a file after another: a big one, then small ones each read in one batch.
    const files = ['a.log', 'b.log', 'c.log'].map((name) => join(dir, name));
    [40, 10, 20].forEach((count, i) => writeFileSync(files[i]!, lines(count, 70 + i).join('')));
    const size = (f: string) => statSync(f).size;
    const ship = await startMeteredShip(['--port', String(r.port), '--rate', '50', ...files]);
    // Into c: a and b are read to their ends, and b's batch is behind.
    await scrapeUntil(ship, (m) => (m.get('audit_ship_lines_read_total') ?? 0) >= 52, 'the lines of c');
    const bytes = (await ship.scrape()).get('audit_ship_input_bytes_total')!;
    assert.ok(bytes >= size(files[0]!) + size(files[1]!), `${bytes} bytes counted, a and b hold ${size(files[0]!) + size(files[1]!)}`);
    assert.equal(await ship.exit(), EXIT.ok, ship.stderr());
    assert.equal(
      jsonSummary(ship.stderr()).bytesRead,
      files.reduce((sum, f) => sum + size(f), 0),
    );
  });

  it('refuses a --checkpoint or --dead-letter that is one of the input files or each other, and writes nothing', async (t) => {
    const dir = tempDir();
    const log = join(dir, 'in.jsonl');
    writeFileSync(log, lines(5, 49).join(''));
    const before = readFileSync(log);
    for (const option of ['--checkpoint', '--dead-letter']) {
      const res = await runCli(['--port', '1', option, log, dir]);
      assert.equal(res.code, EXIT.usage, res.stderr);
      assert.match(
        res.stderr,
        new RegExp(`${option} \\S+in\\.jsonl is the input \\S+in\\.jsonl: audit-ship does not write to a log it reads`),
      );
      assert.deepEqual(readFileSync(log), before);
    }
    // The same log redirected to stdin (`--dead-letter in.jsonl < in.jsonl`).
    const fd = openSync(log, 'r');
    t.after(() => closeSync(fd));
    const redirected = await runCli(['--port', '1', '--dead-letter', log], { stdinFd: fd });
    assert.equal(redirected.code, EXIT.usage, redirected.stderr);
    assert.match(redirected.stderr, /--dead-letter \S+in\.jsonl is the file on stdin: audit-ship does not write to a log it reads/);
    assert.deepEqual(readFileSync(log), before);
    // The checkpoint is replaced whole on each save: dead letters appended to it would be lost.
    const same = join(dir, 'run.json');
    const both = await runCli(['--port', '1', '--checkpoint', same, '--dead-letter', `${dir}/./run.json`, log]);
    assert.equal(both.code, EXIT.usage, both.stderr);
    assert.match(both.stderr, /--checkpoint and --dead-letter both name \S+run\.json: each needs a file of its own/);
    assert.equal(existsSync(same), false);
  });

  // A cron job keeping them beside the logs it ships: every run after the first stopped, exit 2.
  it('leaves out its own --dead-letter and --checkpoint files that a directory holds, and still refuses them named', async () => {
    const r = await receiver();
    const dir = tempDir();
    writeFileSync(join(dir, 'audit.jsonl'), `${lines(5, 50).join('')}{"RequestID":"not-a-record"}\n`);
    const args = ['--port', String(r.port), '--dead-letter', join(dir, 'dead.jsonl'), '--checkpoint', join(dir, 'cp.json'), dir];
    const first = await runCli(args);
    assert.equal(first.code, EXIT.ok, first.stderr);
    appendFileSync(join(dir, 'audit.jsonl'), lines(3, 51).join(''));
    const again = await runCli(args);
    assert.equal(again.code, EXIT.ok, again.stderr);
    assert.match(again.stderr, /skipped \S+dead\.jsonl: the --dead-letter file of this run, not a log/);
    assert.match(again.stderr, /skipped \S+cp\.json: the --checkpoint file of this run, not a log/);
    assert.equal(r.events().length, 8, 'the new records shipped, nothing read from the outputs');
    const named = await runCli([...args, join(dir, 'dead.jsonl')]);
    assert.equal(named.code, EXIT.usage, named.stderr);
    assert.match(named.stderr, /--dead-letter \S+dead\.jsonl is the input \S+dead\.jsonl/);
  });

  // It kept no place for the pipe and said nothing: a user who asked for --checkpoint saw it silently not apply.
  it("with --checkpoint, says a named pipe is read as a stream with no place kept, and keeps the files' places", async () => {
    const r = await receiver();
    const dir = tempDir();
    const fifo = join(dir, 'live.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const file = join(dir, 'audit.jsonl');
    writeFileSync(file, lines(3, 53).join(''));
    const writer = spawn('sh', ['-c', `cat > "${fifo}"`], { stdio: ['pipe', 'ignore', 'ignore'] });
    writer.stdin.end(lines(4, 54).join(''));
    const checkpoint = join(dir, 'cp.json');
    const res = await runCli(['--port', String(r.port), '--checkpoint', checkpoint, fifo, file]);
    assert.equal(res.code, EXIT.ok, res.stderr);
    assert.match(res.stderr, /live\.fifo: read as a stream, so --checkpoint keeps no place in it: a run reads what comes while it runs/);
    assert.equal(r.events().length, 7);
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as { files: Record<string, unknown> };
    assert.deepEqual(Object.keys(saved.files), [file]);
  });

  // Its open (no writer yet) and its read (a writer with nothing to say) each waited in a thread of
  // the pool: a stop signal printed the outcome and the process went on, holding the spool's lock.
  it('a named pipe with no writer, or an idle one: a stop signal ends the run, what was read shipped', async (t) => {
    const r = await receiver();
    for (const writer of ['none', 'idle'] as const) {
      const fifo = join(tempDir(), `${writer}.fifo`);
      assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
      // A writer that says three lines and then nothing; the shell's open of the pipe returns once the run opens it.
      const speaker =
        writer === 'idle' ? spawn('sh', ['-c', `exec 3>"${fifo}"; cat >&3; exec sleep 60`], { stdio: ['pipe', 'ignore', 'ignore'] }) : null;
      t.after(() => speaker?.kill('SIGKILL'));
      speaker?.stdin!.end(lines(3, 56).join(''));
      const s = startShip(['--port', String(r.port), '--summary', 'json', fifo], { AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool') });
      // The kernel names where a thread waits: the open of the pipe, once the run has reached it.
      const waits = (tid: string) => {
        try {
          return readFileSync(`/proc/${s.child.pid}/task/${tid}/wchan`, 'utf8');
        } catch {
          return '';
        }
      };
      const threads = () => (s.child.exitCode === null ? readdirSync(`/proc/${s.child.pid}/task`) : []);
      if (speaker) await waitFor(() => r.events().length === 3, 'the lines the writer said');
      else await waitFor(() => threads().some((tid) => waits(tid) === 'wait_for_partner'), 'the open of the pipe');
      s.child.kill('SIGTERM');
      // Bounded: a run that never ends fails here.
      await waitFor(() => s.child.exitCode !== null, `${writer}: the run to stop`);
      assert.equal(s.child.exitCode, EXIT.inputUnread, s.stderr());
      assert.match(s.stderr(), new RegExp(`${writer}\\.fifo: stopped by SIGTERM; the rest of \\S+${writer}\\.fifo was not read`));
      assert.equal(jsonSummary(s.stderr()).recordsAcked, speaker ? 3 : 0);
    }
  });

  // Its open failed outside the reading that names inputs: "internal error: ENOENT", exit 1, the
  // inputs after it never read.
  it('a named pipe deleted before its turn is an input not read; the inputs after it are read', async () => {
    const r = await receiver();
    const dir = tempDir();
    const [first, fifo, last] = ['first.jsonl', 'gone.fifo', 'last.jsonl'].map((f) => join(dir, f)) as [string, string, string];
    writeFileSync(first, lines(400, 57).join(''));
    writeFileSync(last, lines(5, 58).join(''));
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const s = startShip(['--port', String(r.port), '--rate', '200', '--flush-interval', '50ms', first, fifo, last], {
      AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool'),
    });
    await waitFor(() => r.events().length > 0, 'the first file under way');
    unlinkSync(fifo);
    await waitFor(() => s.child.exitCode !== null, 'the run to end');
    assert.equal(s.child.exitCode, EXIT.inputUnread, s.stderr());
    assert.match(s.stderr(), /gone\.fifo: no such file or directory; the rest of \S+gone\.fifo was not read/);
    assert.doesNotMatch(s.stderr(), /internal error/);
    assert.equal(r.events().length, 405, 'the files before and after it, whole');
  });

  it('refuses --checkpoint with stdin, which cannot be re-read', async () => {
    const res = await runCli(['--checkpoint', join(tempDir(), 'c.json')], { input: '' });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--checkpoint applies to input files/);
  });
});

describe('audit-ship --dead-letter, --since/--until, --stdout, --require-conn', () => {
  // Deleted under a live tail, every later invalid line went into the unlinked file, counted as kept: exit 0.
  it('makes the dead-letter file again when it is deleted while in use, and keeps the lines that follow', async () => {
    const r = await receiver();
    const deadLetter = join(tempDir(), 'dead.jsonl');
    const ship = startShip(['--port', String(r.port), '--dead-letter', deadLetter, '--summary', 'json']);
    const bad = (n: number) => `{"RequestID":"not-a-record-${n}"}\n`;
    ship.child.stdin!.write(bad(1) + bad(2));
    const kept = () => (existsSync(deadLetter) ? readFileSync(deadLetter, 'utf8').trim().split('\n').filter(Boolean) : []);
    await waitFor(() => kept().length === 2, 'the first two invalid lines kept');
    unlinkSync(deadLetter);
    ship.child.stdin!.write(bad(3) + lines(5, 46).join('') + bad(4));
    assert.equal(await ship.exit(), EXIT.ok, ship.stderr());
    assert.deepEqual(
      kept().map((l) => (JSON.parse(l) as DeadLetter).raw),
      [bad(3).trim(), bad(4).trim()],
      'every line after the deletion is in the file made again, once',
    );
    assert.match(
      ship.stderr(),
      /the --dead-letter file \S+dead\.jsonl was deleted while in use, by something other than audit-ship; made again/,
    );
    assert.equal(jsonSummary(ship.stderr()).deadLettered, 4);
    assert.equal(r.events().length, 5);
  });

  // Rotated (logrotate renames it, then compresses and deletes the renamed file), every later
  // invalid line went on into the renamed file, and what came after its compression read it was lost.
  it('goes on into a new dead-letter file when the one in use is moved away, the line written then in both', async () => {
    const r = await receiver();
    const deadLetter = join(tempDir(), 'dead.jsonl');
    const ship = startShip(['--port', String(r.port), '--dead-letter', deadLetter, '--summary', 'json']);
    const bad = (n: number) => `{"RequestID":"not-a-record-${n}"}\n`;
    const raws = (path: string) =>
      existsSync(path)
        ? readFileSync(path, 'utf8')
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((l) => (JSON.parse(l) as DeadLetter).raw)
        : [];
    ship.child.stdin!.write(bad(1) + bad(2));
    await waitFor(() => raws(deadLetter).length === 2, 'the first two invalid lines kept');
    renameSync(deadLetter, `${deadLetter}.1`);
    ship.child.stdin!.write(bad(3) + lines(5, 47).join('') + bad(4));
    assert.equal(await ship.exit(), EXIT.ok, ship.stderr());
    assert.deepEqual(
      raws(`${deadLetter}.1`),
      [bad(1), bad(2), bad(3)].map((b) => b.trim()),
      'the rotated file as it was, and the line written as it moved',
    );
    assert.deepEqual(
      raws(deadLetter),
      [bad(3), bad(4)].map((b) => b.trim()),
      'every line from then on under the path',
    );
    assert.match(
      ship.stderr(),
      /the --dead-letter file \S+dead\.jsonl was moved away while in use \(rotated\?\); invalid lines go on into/,
    );
    assert.equal(jsonSummary(ship.stderr()).deadLettered, 4);
    assert.equal(r.events().length, 5);
  });

  it('writes each invalid line with its diagnostics to the dead-letter file, and accounts for every line', async () => {
    const r = await receiver();
    const good = lines(50, 44);
    const bad = ['{"RequestID":"7b0e5f0e-2a5c-4d8e-9f55-0c3c2a5b6d7e","Method":"GET","Timestamp":"yesterday"}', '{"RequestID": "trunc'];
    const input = [...good.slice(0, 20), `${bad[0]}\n`, 'plain application log\n', ...good.slice(20), `${bad[1]}\n`, '\n'].join('');
    const deadLetter = join(tempDir(), 'dead.jsonl');
    const res = await runCli(['--port', String(r.port), '--dead-letter', deadLetter, '--summary', 'json'], { input });
    assert.equal(res.code, 0, res.stderr);
    const letters = readFileSync(deadLetter, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as DeadLetter);
    assert.deepEqual(
      letters.map((l) => [l.file, l.line, l.raw]),
      [
        ['<stdin>', 21, bad[0]],
        ['<stdin>', 53, bad[1]],
      ],
    );
    assert.ok(letters[0]!.diagnostics.some((d) => d.code === 'missing-field' && typeof d.field === 'string' && d.severity === 'error'));
    assert.ok(letters[0]!.diagnostics.some((d) => d.code === 'invalid-timestamp'));
    assert.equal(letters[1]!.diagnostics[0]!.code, 'not-json');
    const s = jsonSummary(res.stderr);
    assert.equal(s.deadLettered, 2);
    assert.equal(s.recordsAcked + s.deadLettered + s.skipped + s.blank, s.lines);
    assert.equal(r.events().length, 50);
  });

  it('ships only the records between --since and --until, by their Timestamp', async () => {
    const r = await receiver();
    const records = lines(200, 45);
    const times = records
      .map((l) => parseTimestamp((JSON.parse(l) as { Timestamp: string }).Timestamp))
      .map((t) => (t.ok ? t.seconds : NaN));
    const since = times[50]!;
    const until = times[150]!;
    const expected = records.filter((_, i) => times[i]! >= since && times[i]! < until).map(idOf);
    const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000', '');
    const res = await runCli(['--port', String(r.port), '--since', iso(since), '--until', iso(until), '--summary', 'json'], {
      input: records.join(''),
    });
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(r.requestIds().sort(), expected.sort());
    assert.equal(jsonSummary(res.stderr).filtered, 200 - expected.length);
  });

  // A file a run with --since marked done was skipped by every later run: one asking for the
  // records before --since shipped none of them and said every record acked.
  for (const workers of ['1', '2']) {
    it(`reads again a file the checkpoint has shipped within a narrower --since/--until (--workers ${workers})`, async () => {
      const r = await receiver();
      const dir = tempDir();
      const { files, records } = smallFiles(dir, 2, 100, 48);
      const checkpoint = join(dir, 'checkpoint.json');
      const all = records.flat();
      const time = (l: string) => (JSON.parse(l) as { Timestamp: string }).Timestamp;
      // Each file has records on both sides of this time.
      const since = time(records[0]![50]!);
      const args = ['--port', String(r.port), '--checkpoint', checkpoint, '--workers', workers, '--summary', 'json', ...files];
      const first = await runCli([...args, '--since', since]);
      assert.equal(first.code, EXIT.ok, first.stderr);
      const shipped = r.requestIds().length;
      assert.ok(shipped > 0 && shipped < all.length, `${shipped} of ${all.length} within --since`);

      const wider = await runCli(args);
      assert.equal(wider.code, EXIT.ok, wider.stderr);
      for (const file of files)
        assert.match(
          wider.stderr,
          new RegExp(
            `${file}: was shipped with --since \\S+, which left records of it out that this run asks for: reading it from the start`,
          ),
        );
      const ids = r.requestIds();
      assert.deepEqual([...new Set(ids)].sort(), all.map(idOf).sort(), 'every record, those before --since too');
      assert.equal(ids.length, all.length + shipped, 'what the first run shipped, sent again once');

      // Now shipped whole: neither a run without --since nor one with it reads them again.
      for (const again of [args, [...args, '--since', since]]) {
        const res = await runCli(again);
        assert.equal(res.code, EXIT.ok, res.stderr);
        assert.equal(jsonSummary(res.stderr).filesAlreadyShipped, 2, res.stderr);
      }
      assert.equal(r.requestIds().length, all.length + shipped);
    });
  }

  it('accepts --since one nanosecond before --until, and refuses them equal', async () => {
    const ok = await runCli(['--port', '1', '--since', '2021-09-22T12:00:00.000000001Z', '--until', '2021-09-22T12:00:00.000000002Z'], {
      input: '',
    });
    assert.equal(ok.code, 0, ok.stderr);
    const equal = await runCli(['--port', '1', '--since', '2021-09-22T12:00:00.000000001Z', '--until', '2021-09-22T12:00:00.000000001Z'], {
      input: '',
    });
    assert.equal(equal.code, 2);
    assert.match(equal.stderr, /--since must be before --until/);
    // --help's own example, "24h ago": every record of 2021 is before it.
    const spoken = await runCli(['--port', '1', '--since', '24h ago', '--summary', 'json'], { input: lines(3, 52).join('') });
    assert.equal(spoken.code, EXIT.ok, spoken.stderr);
    assert.equal(jsonSummary(spoken.stderr).filtered, 3);
  });

  it('--stdout also writes every valid record to stdout, and nothing else', async () => {
    const r = await receiver();
    const records = lines(30, 46).map((l) => l.trim());
    const res = await runCli(['--port', String(r.port), '--stdout'], { input: ['not json', ...records, '{"RequestID":"x"}'].join('\n') });
    assert.equal(res.code, EXIT.invalidNotKept, res.stderr);
    assert.deepEqual(res.stdout.trim().split('\n'), records);
  });

  it('--time-source now stamps each event with the time it is read', async () => {
    const r = await receiver();
    const before = Date.now();
    const res = await runCli(['--port', String(r.port), '--time-source', 'now'], { input: lines(5, 49).join('') });
    assert.equal(res.code, 0, res.stderr);
    for (const e of r.events()) {
      const t = Date.parse(e.time);
      assert.ok(t >= before - 1000 && t <= Date.now() + 1000, `${e.time} is the time of reading, not 2021`);
    }
    assert.equal(r.events().length, 5);
  });

  it('names the missing directory of a file it is to create, before reading any input', async () => {
    const dir = tempDir();
    const missing = join(dir, 'not-made');
    const log = join(dir, 'audit.log');
    writeFileSync(log, lines(3, 52).join(''));
    const cases = [
      { args: ['--port', '1', '--dead-letter', join(missing, 'dead.jsonl')], code: EXIT.usage, what: /--dead-letter \S+dead\.jsonl: / },
      {
        args: ['--port', '1', '--checkpoint', join(missing, 'cp.json')],
        code: EXIT.failure,
        what: /cannot lock the checkpoint \S+cp\.json: /,
      },
      { args: ['receive', '--port', '0', '--out', join(missing, 'events.jsonl')], code: EXIT.usage, what: /--out \S+events\.jsonl: / },
    ];
    for (const { args, code, what } of cases) {
      const res = await runCli(args[0] === 'receive' ? args : [...args, log]);
      assert.equal(res.code, code, res.stderr);
      assert.match(res.stderr, what);
      assert.ok(res.stderr.includes(`the directory ${missing} does not exist`), res.stderr);
      assert.doesNotMatch(res.stderr, /records? sent/, 'nothing was read');
    }
  });

  it('a Timestamp no event time holds is invalid as the event time, and ships under --time-source now', async () => {
    // Go's zero time, the first second a uint32 cannot hold, and the last instant one can.
    const times = ['0001-01-01T00:00:00Z', '1969-12-31T23:59:59.999Z', '2106-02-07T06:28:16Z', '2106-02-07T06:28:15.999999999Z'];
    const input = lines(times.length, 51).map((l, i) => JSON.stringify({ ...JSON.parse(l), Timestamp: times[i] }) + '\n');
    const r = await receiver();
    const byRecord = await runCli(['--port', String(r.port), '--summary', 'json'], { input: input.join('') });
    assert.equal(byRecord.code, EXIT.invalidNotKept, byRecord.stderr);
    for (const n of [1, 2, 3]) assert.match(byRecord.stderr, new RegExp(`^<stdin>:${n}: error Timestamp: .*\\[time-out-of-range\\]$`, 'm'));
    assert.deepEqual(
      r.events().map((e) => e.time),
      ['2106-02-07T06:28:15.999999999Z'],
    );
    const now = await receiver();
    const before = Date.now();
    const byNow = await runCli(['--port', String(now.port), '--time-source', 'now', '--summary', 'json'], { input: input.join('') });
    assert.equal(byNow.code, 0, byNow.stderr);
    assert.deepEqual(
      now.events().map((e) => e.record.Timestamp),
      times,
    );
    for (const e of now.events()) assert.ok(Date.parse(e.time) >= before - 1000, `${e.time} is the time of reading`);
  });

  it('under --spool-overflow drop-oldest, counts what it drops: dropped + left in spool = valid', async () => {
    const res = await runCli(['--port', '1', '--retry-timeout', '500ms', ...SMALL_DROPPING_SPOOL, '--summary', 'json'], {
      input: lines(400, 50).join(''),
    });
    assert.equal(res.code, EXIT.leftInSpool, 'what is left in the spool comes first; the drop is said too');
    assert.match(res.stderr, /records? (was|were) dropped unsent from the full spool/);
    const s = jsonSummary(res.stderr);
    assert.ok(s.dropped! > 0, 'some records were dropped');
    assert.equal(s.dropped! + s.leftInSpool!, s.valid);
    assert.equal(s.valid, 400);
  });

  it('--require-conn reads no input until Fluentd accepts a connection', async () => {
    const input = lines(10, 47).join('');
    const waiting = await runCli(['--port', '1', '--require-conn', '--retry-timeout', '300ms', '--summary', 'json'], { input });
    assert.equal(waiting.code, EXIT.inputUnread, 'stdin was not read at all');
    assert.equal(jsonSummary(waiting.stderr).lines, 0);
    // Long enough that a loaded machine reads all of stdin before the run gives up.
    const eager = await runCli(['--port', '1', '--retry-timeout', '2s', '--summary', 'json'], { input });
    assert.equal(eager.code, EXIT.leftInSpool);
    assert.equal(jsonSummary(eager.stderr).lines, 10, 'without it, the input is read into the spool');
  });

  // It said "waiting up to 10 s for acks", and waited them out for acks of nothing.
  it('--require-conn: a stop signal before any server answers ends the run at once, input unread', async () => {
    const s = startShip(['--port', '1', '--require-conn', '--shutdown-timeout', '5m', '--summary', 'json'], {
      AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool'),
    });
    s.child.stdin!.write(lines(10, 48).join(''));
    await waitFor(() => /cannot connect to 127\.0\.0\.1:1/.test(s.stderr()), 'a connection refused');
    s.child.kill('SIGTERM');
    // Bounded: a run that waits out --shutdown-timeout fails here.
    await waitFor(() => s.child.exitCode !== null, 'the run to stop');
    assert.equal(s.child.exitCode, EXIT.inputUnread, s.stderr());
    assert.equal(jsonSummary(s.stderr()).lines, 0);
    assert.doesNotMatch(s.stderr(), /SIGTERM again: not waiting/);
  });
});

describe('audit-ship < file', () => {
  it('ships a file redirected to stdin from the offset it stands at, and gzip whole', async (t) => {
    const r = await receiver();
    const dir = tempDir();
    const all = lines(60, 51);
    const plain = join(dir, 'audit.log');
    writeFileSync(plain, all.join(''));
    const fd = openSync(plain, 'r');
    t.after(() => closeSync(fd));
    // What the shell read before audit-ship ran: the first 10 lines.
    const skipped = Buffer.byteLength(all.slice(0, 10).join(''));
    readSync(fd, Buffer.alloc(skipped), 0, skipped, null);
    const res = await runCli(['--port', String(r.port), '--summary', 'json'], { stdinFd: fd });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(jsonSummary(res.stderr).lines, 50);
    assert.deepEqual(r.requestIds(), all.slice(10).map(idOf));

    const gz = join(dir, 'audit.log.gz');
    writeFileSync(gz, gzipSync(all.join('')));
    const gzFd = openSync(gz, 'r');
    t.after(() => closeSync(gzFd));
    const again = await runCli(['--port', String(r.port), '--summary', 'json'], { stdinFd: gzFd });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(jsonSummary(again.stderr).bytesRead, Buffer.byteLength(gzipSync(all.join(''))));
    assert.deepEqual(r.requestIds(), [...all.slice(10), ...all].map(idOf));
  });
});

describe('the spool across runs', () => {
  it('keeps what could not be delivered, reports it, and sends it first on the next run', async () => {
    const spoolDir = join(tempDir(), 'spool');
    const records = lines(120, 48);
    const env = { AUDIT_SHIP_SPOOL_DIR: spoolDir };
    const down = await runCli(['--port', '1', '--retry-timeout', '2s'], { input: records.join(''), env });
    assert.equal(down.code, EXIT.leftInSpool);
    assert.match(down.stderr, /120 records were not acked and stay in the spool/);
    // The same command again would read stdin's records again: what sends only the spool is said.
    assert.match(
      down.stderr,
      /the next run sends them first; to send only them, run the same command with no input \(`< \/dev\/null`\): with its inputs it would send their records again\n/,
    );

    const status = await runCli(['spool', 'status', '--json'], { env });
    assert.equal(status.code, 0);
    assert.equal((JSON.parse(status.stdout) as { records: number }).records, 120);
    const verify = await runCli(['spool', 'verify'], { env });
    assert.equal(verify.code, 0);
    assert.match(verify.stdout, /every chunk's checksum is good/);

    const r = await receiver();
    const up = await runCli(['--port', String(r.port), '--summary', 'json'], { input: '', env });
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stderr, /120 records left in the spool by an earlier run are sent first/);
    assert.equal(jsonSummary(up.stderr).recoveredFromSpool, 120);
    assert.deepEqual(new Set(r.requestIds()), new Set(records.map(idOf)));
    assert.equal((JSON.parse((await runCli(['spool', 'status', '--json'], { env })).stdout) as { records: number }).records, 0);

    // With --checkpoint the same command again sends only what is new: no such advice.
    const file = join(tempDir(), 'audit.jsonl');
    writeFileSync(file, records.slice(0, 5).join(''));
    const checkpointed = await runCli(['--port', '1', '--retry-timeout', '1s', '--checkpoint', join(tempDir(), 'cp.json'), file], { env });
    assert.equal(checkpointed.code, EXIT.leftInSpool, checkpointed.stderr);
    assert.match(checkpointed.stderr, /5 records were not acked and stay in the spool \S+; the next run sends them first\n/);
  });

  it('refuses a second shipper on the same spool, naming the one that holds it', async () => {
    const env = { AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool') };
    const first = startShip(['--port', '1'], env);
    await waitFor(() => existsSync(join(env.AUDIT_SHIP_SPOOL_DIR, 'lock')), 'the first shipper to lock the spool');
    const second = await runCli(['--port', '1'], { input: '', env });
    assert.equal(second.code, 1);
    assert.match(
      second.stderr,
      new RegExp(`in use by another audit-ship \\(pid ${first.child.pid} on [^)]+\\).*\\(ERR_AUDIT_SHIP_SPOOL\\)`),
    );
    const purge = await runCli(['spool', 'purge'], { env });
    assert.equal(purge.code, 1, 'purge never deletes under a running shipper');
    await first.exit('SIGTERM');
    const purged = await runCli(['spool', 'purge'], { env });
    assert.equal(purged.code, 0, purged.stderr);
  });
});
