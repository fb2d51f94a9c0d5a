/**
 * `--checkpoint` over a file another process still writes (a cron job over the current log): a
 * last line without its end of line that holds no whole JSON value is left for the next run, never
 * read as an invalid line that the checkpoint passes; a whole value without one is judged as any line.
 * Checked by RequestID on the built CLI, one reader and several.
 */
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { idOf, lines } from '../helpers/ledger.js';
import { receivers } from '../helpers/receive-cli.js';
import { jsonSummary } from '../helpers/ship-cli.js';

const receiver = receivers();

describe('--checkpoint over a file still being written', () => {
  for (const workers of ['1', '2']) {
    it(`leaves a half-written last line for the next run, which ships the record it became (--workers ${workers})`, async () => {
      const r = await receiver();
      const dir = tempDir();
      const records = lines(12, 71);
      const files = [join(dir, 'a.log'), join(dir, 'b.log')];
      // Each file: five whole records, then the first 60 bytes of the sixth (a logger that writes in blocks).
      const halves = files.map((file, f) => {
        const own = records.slice(f * 6, f * 6 + 6);
        writeFileSync(file, own.slice(0, 5).join('') + own[5]!.slice(0, 60));
        return own[5]!.slice(60);
      });
      const checkpoint = join(dir, 'checkpoint.json');
      const args = ['--port', String(r.port), '--checkpoint', checkpoint, '--workers', workers, '--summary', 'json', ...files];

      const first = await runCli(args);
      assert.equal(first.code, EXIT.ok, first.stderr);
      for (const file of files) {
        assert.match(
          first.stderr,
          new RegExp(`${file}: line 6 is not finished and holds no whole JSON value \\(still being written\\?\\): left for the next run`),
        );
      }
      const summary = jsonSummary(first.stderr);
      assert.equal(summary.invalid, 0, 'the half line is not an invalid record');
      assert.equal(summary.lines, 10);
      assert.equal(r.requestIds().length, 10);

      // Unchanged, the file is read again from the half line's start, and it is left again.
      const again = await runCli(args);
      assert.equal(again.code, EXIT.ok, again.stderr);
      assert.match(again.stderr, /a\.log: resuming after line 5 \(checkpoint\)/);
      assert.match(again.stderr, /a\.log: line 6 is not finished/);
      // What the run read, not where it started: each file's half line, 60 bytes.
      assert.equal(jsonSummary(again.stderr).bytesRead, 2 * 60, 'the bytes a checkpoint passes over are not read');

      files.forEach((file, f) => appendFileSync(file, halves[f]!));
      const last = await runCli(args);
      assert.equal(last.code, EXIT.ok, last.stderr);
      assert.doesNotMatch(last.stderr, /is not finished/);
      const finished = files.map((_, f) => Buffer.byteLength(records[f * 6 + 5]!));
      assert.equal(jsonSummary(last.stderr).bytesRead, finished[0]! + finished[1]!);
      assert.deepEqual(r.requestIds().sort(), records.map(idOf).sort(), 'every record once, the finished one too');
    });
  }

  it('reports the half line a copytruncate rotation left in the copy as invalid, not held for ever', async () => {
    const r = await receiver();
    const dir = tempDir();
    const records = lines(7, 74);
    const file = join(dir, 'audit.log');
    writeFileSync(file, records.slice(0, 5).join('') + records[5]!.slice(0, 60));
    const args = ['--port', String(r.port), '--checkpoint', join(dir, 'checkpoint.json'), '--summary', 'json', file, `${file}.1`];
    assert.equal((await runCli(args.slice(0, -1))).code, EXIT.ok);
    // logrotate's copytruncate mid-line: the copy ends in the half line, its rest starts the log.
    copyFileSync(file, `${file}.1`);
    writeFileSync(file, records[5]!.slice(60) + records[6]!);
    const res = await runCli(args);
    assert.equal(res.code, EXIT.invalidNotKept, res.stderr);
    assert.match(res.stderr, /audit\.log\.1: is a copy of \S+audit\.log \(same first 4 KiB\): resuming after line 5/);
    assert.match(res.stderr, /audit\.log\.1:6: error: not valid JSON/);
    assert.doesNotMatch(res.stderr, /is not finished/);
    assert.deepEqual(r.requestIds(), [...records.slice(0, 5), records[6]!].map(idOf));
  });

  it('leaves a split line whose last part the runtime has not written yet (CRI), and ships it joined', async () => {
    const r = await receiver();
    const dir = tempDir();
    const records = lines(2, 76).map((l) => l.trimEnd());
    const ts = '2021-09-22T12:18:19.269456495Z';
    const file = join(dir, '0.log');
    // An application's error on the other stream comes between the parts: it is read, but the
    // checkpoint stays before the first part, or the next run would read the last part alone.
    writeFileSync(file, `${ts} stdout F ${records[0]}\n${ts} stdout P ${records[1]!.slice(0, 400)}\n${ts} stderr F E0922 an error\n`);
    const args = ['--port', String(r.port), '--checkpoint', join(dir, 'checkpoint.json'), file];
    const first = await runCli(args);
    assert.equal(first.code, EXIT.ok, first.stderr);
    assert.match(first.stderr, /0\.log: line 2 is not finished and holds no whole JSON value/);
    appendFileSync(file, `${ts} stdout F ${records[1]!.slice(400)}\n`);
    const second = await runCli(args);
    assert.equal(second.code, EXIT.ok, second.stderr);
    assert.match(second.stderr, /resuming after line 1 \(checkpoint\)/);
    assert.match(second.stderr, /2 lines read: 1 valid, 0 invalid, 1 skipped/, 'the error again, and the joined record');
    assert.deepEqual(r.requestIds(), records.map(idOf));
  });

  it('ships a whole last record that has no end of line, and reads only what is appended after it', async () => {
    const r = await receiver();
    const dir = tempDir();
    const records = lines(4, 72);
    const file = join(dir, 'audit.log');
    writeFileSync(file, records.slice(0, 3).join('').trimEnd());
    const args = ['--port', String(r.port), '--checkpoint', join(dir, 'checkpoint.json'), file];
    assert.equal((await runCli(args)).code, EXIT.ok);
    assert.equal(r.requestIds().length, 3);
    appendFileSync(file, `\n${records[3]!}`);
    const next = await runCli(args);
    assert.equal(next.code, EXIT.ok, next.stderr);
    assert.deepEqual(r.requestIds(), records.map(idOf));
  });

  it('reports a whole JSON last line that is no valid record, which nothing appended changes', async () => {
    const dir = tempDir();
    const file = join(dir, 'audit.log');
    const [record] = lines(1, 75);
    writeFileSync(file, `${record!}{"RequestID":"not-a-uuid","Method":"GET","Path":"/x"}`);
    const r = await receiver();
    const res = await runCli(['--port', String(r.port), '--checkpoint', join(dir, 'checkpoint.json'), file]);
    assert.equal(res.code, EXIT.invalidNotKept, res.stderr);
    assert.match(res.stderr, /audit\.log:2: error RequestID: expected version 4 UUID/);
    assert.doesNotMatch(res.stderr, /is not finished/);
    assert.equal(r.requestIds().length, 1);
  });

  it('reports a cut last line of a .gz, which no writer finishes, as invalid', async () => {
    const dir = tempDir();
    const records = lines(3, 73);
    const file = join(dir, 'audit.log.gz');
    writeFileSync(file, gzipSync(records[0]! + records[1]! + records[2]!.slice(0, 60)));
    const r = await receiver();
    const res = await runCli(['--port', String(r.port), '--checkpoint', join(dir, 'checkpoint.json'), file]);
    assert.equal(res.code, EXIT.invalidNotKept, res.stderr);
    assert.match(res.stderr, /audit\.log\.gz:3: error: not valid JSON/);
  });
});
