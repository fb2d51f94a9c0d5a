/**
 * --workers: many files read at once, each in a worker thread, into one spool and one sender. Over
 * real processes and sockets: the same counts, diagnostics and records as one reader, order kept
 * within each file, checkpoints relayed, a truncated file among others, and a stop mid-run that a
 * re-run completes without losing or repeating a record.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, appendFileSync, statSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { EXIT } from '../../src/cli/exit.js';
import type { ShipSummary } from '../../src/cli/ship-summary.js';
import type { InputSource } from '../../src/input/sources.js';
import { takeJob } from '../../src/ship/parallel.js';
import { assertDoneThenSkipped } from '../helpers/checkpoint.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { idOf, Ledger, lines, smallFiles } from '../helpers/ledger.js';
import { freePort } from '../helpers/net.js';
import { receivers } from '../helpers/receive-cli.js';
import { jsonSummary, startShip, waitFor } from '../helpers/ship-cli.js';

const receiver = receivers();

/** Four inputs: two gzip, two plain; one with invalid, blank and non-audit lines between its records. */
function inputs(dir: string): { files: string[]; ledgers: Ledger[] } {
  const ledgers = [new Ledger(3000, 301), new Ledger(2500, 302), new Ledger(2000, 303), new Ledger(1500, 304)];
  const files = ['a.jsonl.gz', 'b.jsonl', 'c.jsonl.gz', 'd.jsonl'].map((name) => join(dir, name));
  ledgers.forEach((ledger, i) => {
    let text = ledger.text();
    if (i === 1) {
      const [first, ...rest] = ledger.lines;
      text = [first, '{"RequestID": 7}\n', '\n', 'a log line from the platform\n', '{"RequestID": "x"}\n', ...rest].join('');
    }
    writeFileSync(files[i]!, files[i]!.endsWith('.gz') ? gzipSync(text) : text);
  });
  return { files, ledgers };
}

/** The counts a run's reading decides; the same whatever the number of readers. */
function readingCounts(s: ShipSummary) {
  const { lines, valid, invalid, invalidByCode, skipped, blank, recordsSpooled, recordsAcked, leftInSpool } = s;
  return { lines, valid, invalid, invalidByCode, skipped, blank, recordsSpooled, recordsAcked, leftInSpool };
}

/** Diagnostic lines on stderr (`FILE:LINE: ...`), sorted: their order across files is free. */
const diagnostics = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => /^\S+:\d+: /.test(l))
    .sort();

describe('--workers: files read in parallel', () => {
  it('ships four files with 2 workers exactly as one reader does (gzipped chunks): counts, diagnostics, records, file order', async () => {
    const dir = tempDir();
    const { files, ledgers } = inputs(dir);
    const results = [];
    for (const workers of ['1', '2']) {
      const r = await receiver();
      const args = ['--port', String(r.port), '--chunk-records', '200', '--compress', 'gzip', '--workers', workers];
      const res = await runCli([...args, '--summary', 'json', ...files]);
      assert.equal(res.code, EXIT.invalidNotKept, res.stderr); // the invalid lines were not kept
      const ids = r.requestIds();
      assert.equal(Ledger.of(ledgers).assertComplete(ids), 0, `workers ${workers}: no record twice`);
      for (const ledger of ledgers) {
        const mine = new Set(ledger.ids);
        assert.deepEqual(
          ids.filter((id) => mine.has(id)),
          ledger.ids,
          `workers ${workers}: the records of each file arrive in the order of the file`,
        );
      }
      results.push({ res, summary: jsonSummary(res.stderr) });
    }
    const [one, two] = results;
    assert.doesNotMatch(one!.res.stderr, /at a time \(--workers\)/);
    assert.match(two!.res.stderr, /reading 4 files, 2 at a time \(--workers\)/);
    assert.deepEqual(readingCounts(two!.summary), readingCounts(one!.summary));
    // The bytes each worker told, added up as they came: every byte of every file on disk (gzip's compressed).
    const onDisk = files.reduce((sum, f) => sum + statSync(f).size, 0);
    assert.equal(one!.summary.bytesRead, onDisk);
    assert.equal(two!.summary.bytesRead, onDisk);
    assert.equal(two!.summary.valid, 9000);
    assert.equal(two!.summary.invalid, 2);
    assert.deepEqual(diagnostics(two!.res.stderr), diagnostics(one!.res.stderr));
    assert.ok(
      diagnostics(two!.res.stderr).some((l) => l.startsWith(`${files[1]}:2: `)),
      'the invalid line is named by file and line',
    );
  });

  it('keeps invalid lines in --dead-letter from every worker, and resumes each file from --checkpoint', async () => {
    const dir = tempDir();
    const { files, ledgers } = inputs(dir);
    const r = await receiver();
    const checkpoint = join(dir, 'checkpoint.json');
    const deadLetter = join(dir, 'dead.jsonl');
    const args = ['--port', String(r.port), '--workers', '3', '--checkpoint', checkpoint, '--dead-letter', deadLetter, '--summary', 'json'];
    const first = await runCli([...args, ...files]);
    assert.equal(first.code, EXIT.ok, first.stderr);
    const kept = readFileSync(deadLetter, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { file: string; line: number });
    assert.deepEqual(
      kept.map((k) => [k.file, k.line]),
      [
        [files[1], 2],
        [files[1], 5],
      ],
    );
    assert.equal(jsonSummary(first.stderr).deadLettered, 2);
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as { files: Record<string, { line: number; done: boolean }> };
    assert.deepEqual(
      Object.values(saved.files)
        .map((p) => [p.line, p.done])
        .sort(),
      [
        [1500, true],
        [2000, true],
        [2504, true],
        [3000, true],
      ].sort(),
    );

    const more = new Ledger(700, 305);
    appendFileSync(files[3]!, more.text());
    const second = await runCli([...args, ...files]);
    assert.equal(second.code, EXIT.ok, second.stderr);
    assert.equal(jsonSummary(second.stderr).filesAlreadyShipped, 3, 'counted across the workers');
    assert.match(second.stderr, /d\.jsonl: resuming after line 1500 \(checkpoint\)/);
    assert.equal(jsonSummary(second.stderr).recordsAcked, 700);
    assert.equal(Ledger.of([...ledgers, more]).assertComplete(r.requestIds()), 0, 'each record exactly once across both runs');
  });

  it('a file of nothing but invalid records beside a good one: each of them counted and dead-lettered once', async () => {
    const dir = tempDir();
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, Array.from({ length: 5000 }, (_, i) => `{"RequestID": ${i}}\n`).join(''));
    const good = new Ledger(3000, 306);
    const goodFile = join(dir, 'good.jsonl');
    writeFileSync(goodFile, good.text());
    const r = await receiver();
    const deadLetter = join(dir, 'dead.jsonl');
    const res = await runCli(['--port', String(r.port), '--workers', '2', '--dead-letter', deadLetter, '--summary', 'json', bad, goodFile]);
    assert.equal(res.code, EXIT.ok, res.stderr.slice(-2000));
    const s = jsonSummary(res.stderr);
    assert.equal(s.invalid, 5000);
    assert.equal(s.deadLettered, 5000);
    const kept = readFileSync(deadLetter, 'utf8').trim().split('\n');
    assert.deepEqual(
      kept.map((l) => (JSON.parse(l) as { line: number }).line),
      Array.from({ length: 5000 }, (_, i) => i + 1),
      'each invalid line once, in the order of its file',
    );
    assert.equal(good.assertComplete(r.requestIds()), 0);
  });

  it('a truncated gzip among good files: exit 4 naming it, and every record read from any file is acked', async () => {
    const dir = tempDir();
    const { files } = inputs(dir);
    const whole = readFileSync(files[2]!);
    writeFileSync(files[2]!, whole.subarray(0, whole.length >> 1));
    const r = await receiver();
    const res = await runCli([
      '--port',
      String(r.port),
      '--workers',
      '2',
      '--dead-letter',
      join(dir, 'dead.jsonl'),
      '--summary',
      'json',
      ...files,
    ]);
    assert.equal(res.code, EXIT.inputUnread, res.stderr);
    assert.match(res.stderr, /input not fully read: .*c\.jsonl\.gz: not valid gzip data \(unexpected end of file\)/);
    const s = jsonSummary(res.stderr);
    assert.equal(s.recordsAcked, s.valid, 'every valid record read was acked');
    assert.equal(s.valid + s.invalid + s.skipped + s.blank, s.lines, 'every line read is accounted for');
    assert.equal(r.requestIds().length, s.valid);
  });

  it('a stop mid-run (SIGTERM while the spool is full): the same command completes it, each record once', async () => {
    const dir = tempDir();
    const ledgers = [new Ledger(3000, 311), new Ledger(3000, 312), new Ledger(3000, 313)];
    const files = ledgers.map((l, i) => {
      const file = join(dir, `audit-${i}.jsonl${i === 1 ? '.gz' : ''}`);
      writeFileSync(file, i === 1 ? gzipSync(l.text()) : l.text());
      return file;
    });
    const checkpoint = join(dir, 'checkpoint.json');
    // Nothing listens: the spool fills, and the workers wait for room. Two files spool to about
    // 5.6 MB: with room for 6 MB the third has some too, whichever workers start first.
    const spool = ['--spool-dir', join(dir, 'spool'), '--spool-max-bytes', '6m', '--chunk-records', '100', '--checkpoint', checkpoint];
    const first = startShip([
      '--port',
      String(await freePort()),
      ...spool,
      '--workers',
      '3',
      '--shutdown-timeout',
      '0',
      '--summary',
      'json',
      ...files,
    ]);
    const positions = () => {
      try {
        return Object.keys((JSON.parse(readFileSync(checkpoint, 'utf8')) as { files: object }).files).length;
      } catch {
        return 0;
      }
    };
    await waitFor(() => positions() === 3, 'a checkpoint position for each of the three files');
    assert.equal(await first.exit('SIGTERM'), EXIT.inputUnread, first.stderr());
    const stopped = jsonSummary(first.stderr());
    assert.ok(stopped.recordsSpooled > 0 && stopped.lines < 9000, `stopped partway (${stopped.lines} lines read)`);

    const r = await receiver();
    const second = await runCli(['--port', String(r.port), ...spool, '--workers', '3', '--summary', 'json', ...files]);
    assert.equal(second.code, EXIT.ok, second.stderr);
    assert.match(second.stderr, /records? left in the spool by an earlier run (is|are) sent first/);
    assert.equal(Ledger.of(ledgers).assertComplete(r.requestIds()), 0, 'each record exactly once across both runs');
  });

  it('says so when --workers asks for more threads than the machine has cores, and ships every record', async (t) => {
    const workers = availableParallelism() + 1;
    if (workers > 64) return t.skip(`--workers takes at most 64, and this machine has ${workers - 1} cores`);
    const r = await receiver();
    const { files, records } = smallFiles(tempDir(), workers, 5, 620);
    const res = await runCli(['--port', String(r.port), '--workers', String(workers), ...files]);
    assert.equal(res.code, EXIT.ok, res.stderr);
    assert.match(
      res.stderr,
      new RegExp(
        `reading ${workers} files, ${workers} at a time \\(--workers; more than this machine's ${workers - 1} cores, so they take turns on them, each holding about 27 MB\\)`,
      ),
    );
    assert.equal(r.events().length, records.flat().length);
  });

  it('refuses --workers above 1 with --rate, --stdout or --kubectl, and a count out of range', async () => {
    for (const [flag, ...rest] of [['--rate', '10'], ['--stdout'], ['--kubectl', 'deploy/x']] as const) {
      const res = await runCli(['--workers', '2', flag, ...rest, 'x.jsonl']);
      assert.equal(res.code, EXIT.usage, res.stderr);
      assert.match(res.stderr, new RegExp(`--workers 2 reads files in parallel; ${flag} needs one reader`));
    }
    const zero = await runCli(['--workers', '0', 'x.jsonl']);
    assert.equal(zero.code, EXIT.usage);
    assert.match(zero.stderr, /--workers/);
  });

  it('gives a worker many small files in one job: they share chunks, each file in order, each marked done at its end', async () => {
    const r = await receiver();
    const dir = tempDir();
    const { files, records: texts } = smallFiles(dir, 40, 30, 400);
    const records = texts.map((part) => part.map(idOf));
    const checkpoint = join(dir, 'checkpoint.json');
    const args = [
      '--port',
      String(r.port),
      '--workers',
      '2',
      '--checkpoint',
      checkpoint,
      '--chunk-records',
      '100',
      '--summary',
      'json',
      ...files,
    ];

    const first = await runCli(args);
    assert.equal(first.code, EXIT.ok, first.stderr);
    // A job's files run on into the same chunks: 30 records a file make one chunk a file when
    // each file is a job of its own (40), and ceil(30 * files / 100) a job here.
    const queue = files.map((file) => source(file, statSync(file).size));
    let expected = 0;
    while (queue.length > 0) expected += Math.ceil((30 * takeJob(queue, 2).length) / 100);
    const summary = jsonSummary(first.stderr);
    assert.equal(summary.chunksSpooled, expected);
    assert.ok(expected < files.length, `${expected} chunks`);
    const got = r.requestIds();
    assert.equal(got.length, 1200);
    for (const ids of records) {
      assert.deepEqual(
        got.filter((id) => ids.includes(id)),
        ids,
        'every record of a file once, in its order',
      );
    }
    await assertDoneThenSkipped(args, checkpoint, files, 30, () => r.events().length, 1200);
  });

  it('a truncated gzip inside a job: exit 4 naming it, and the files before it in that job shipped whole', async () => {
    const r = await receiver();
    const dir = tempDir();
    const records = Array.from({ length: 40 }, (_, i) => lines(30, 500 + i));
    const files = records.map((part, i) => {
      const file = join(dir, `audit-${String(i).padStart(2, '0')}.log${i === 2 ? '.gz' : ''}`);
      const gz = gzipSync(part.join(''));
      writeFileSync(file, i === 2 ? gz.subarray(0, gz.length >> 1) : part.join(''));
      return file;
    });
    const queue = files.map((file) => source(file, statSync(file).size));
    assert.ok(takeJob(queue, 2).length > 3, 'the first job holds the gzip and more');
    const res = await runCli(['--port', String(r.port), '--workers', '2', '--summary', 'json', ...files]);
    assert.equal(res.code, EXIT.inputUnread, res.stderr);
    assert.match(res.stderr, /input not fully read: .*audit-02\.log\.gz: not valid gzip data \(unexpected end of file\)/);
    const got = new Set(r.requestIds());
    for (const part of records.slice(0, 2)) {
      assert.ok(
        part.every((l) => got.has(idOf(l))),
        'a file read before the gzip in its job is shipped whole',
      );
    }
    const s = jsonSummary(res.stderr);
    assert.equal(s.recordsAcked, s.valid, 'every valid record read was acked');
    assert.equal(got.size, s.valid);
  });

  it('a file deleted before its reader reaches it fails alone, with one reader or in a job of a worker: the others are read', async () => {
    for (const workers of ['1', '2']) {
      const dir = tempDir();
      // Two large files, a job each, hold both readers while nothing listens and the spool is full;
      // the small files after them are read in jobs of several, the first of which holds audit-02.
      const large = [new Ledger(20_000, 521), new Ledger(20_000, 522)];
      const largeFiles = large.map((ledger, i) => {
        const file = join(dir, `a-${i}.jsonl`);
        writeFileSync(file, ledger.text());
        return file;
      });
      const { files: small, records } = smallFiles(dir, 40, 30, 530);
      const queue = [...largeFiles, ...small].map((file) => source(file, statSync(file).size));
      assert.deepEqual([takeJob(queue, 2).length, takeJob(queue, 2).length], [1, 1], 'a large file is a job of its own');
      assert.ok(takeJob(queue, 2).length > 3, 'the first job of small files holds audit-02 and more');

      const spoolDir = join(dir, 'spool');
      const port = await freePort();
      const args = ['--port', String(port), '--spool-dir', spoolDir, '--spool-max-bytes', '2m', '--workers', workers, '--summary', 'json'];
      const ship = startShip([...args, ...largeFiles, ...small]);
      // A chunk in the spool: every input was looked at (before any reading starts), and no reader
      // is past its large file until something listens.
      await waitFor(
        () => existsSync(spoolDir) && readdirSync(spoolDir).some((f) => statSync(join(spoolDir, f)).size > 0),
        'the first chunks spooled',
      );
      rmSync(small[2]!);
      const r = await receiver(['--port', String(port)]);
      assert.equal(await ship.exit(), EXIT.inputUnread, ship.stderr());
      assert.match(
        ship.stderr(),
        /input not fully read: \S+audit-02\.log: was deleted or renamed after the run started \(no such file or directory\);/,
      );
      const expected = Ledger.of(large);
      for (const part of records.filter((_, i) => i !== 2)) {
        expected.lines.push(...part);
        expected.ids.push(...part.map(idOf));
      }
      assert.equal(expected.assertComplete(r.requestIds()), 0, `--workers ${workers}: every record of every other file, once`);
      assert.equal(jsonSummary(ship.stderr()).filesFailed, 1);
      await r.stop();
    }
  });
});

/** A file of `size` bytes as the job planner sees it. */
function source(name: string, size: number): InputSource {
  return {
    name,
    path: name,
    size,
    bytesRead: 0,
    resume: null,
    exhausted: false,
    chunks: () => {
      throw new Error('not read here');
    },
  };
}

describe('takeJob: which files a worker reads in one job', () => {
  const MiB = 1024 * 1024;
  const files = (...sizes: number[]) => sizes.map((size, i) => source(`f${i}`, size));

  it('groups small files up to a share of what is left, so that the last jobs are small', () => {
    const queue = files(...Array<number>(64).fill(MiB));
    // 64 MiB left, 2 readers: jobs of up to 8 MiB, then less as the queue shrinks.
    const sizes: number[] = [];
    while (queue.length > 0) sizes.push(takeJob(queue, 2).length);
    assert.deepEqual(sizes.slice(0, 3), [8, 7, 6]);
    assert.equal(sizes.at(-1), 1);
    assert.equal(
      sizes.reduce((a, b) => a + b),
      64,
    );
  });

  it('takes a file larger than the share alone, and at most 16 MiB or 64 files a job', () => {
    const big = files(40 * MiB, MiB);
    assert.equal(takeJob(big, 1).length, 1, 'a file past the limit is a job of its own');
    const many = files(...Array<number>(1000).fill(MiB));
    assert.equal(takeJob(many, 1).length, 16);
    const tiny = files(...Array<number>(1000).fill(100));
    assert.equal(takeJob(tiny, 1).length, 64);
    assert.equal(tiny.length, 1000 - 64, 'taken from the queue');
  });

  it('keeps the order of the list', () => {
    // 100 bytes left, one reader: a job of up to 25 bytes.
    const queue = files(10, 5, 10, 74, 1);
    assert.deepEqual(
      takeJob(queue, 1).map((s) => s.name),
      ['f0', 'f1', 'f2'],
    );
    assert.deepEqual(
      queue.map((s) => s.name),
      ['f3', 'f4'],
    );
  });
});
