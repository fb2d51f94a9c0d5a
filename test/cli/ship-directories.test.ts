/**
 * `audit-ship DIR` and `audit-ship 'GLOB'`: a backfill names a directory of rotated logs, or a glob
 * quoted so that audit-ship matches it (no shell limit on how many files). Real processes: the
 * built CLI into `audit-ship receive`.
 */
import assert from 'node:assert/strict';
import { appendFileSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { EXIT } from '../../src/cli/exit.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { idOf, lines } from '../helpers/ledger.js';
import { cronJob } from '../helpers/checkpoint.js';
import { receivers } from '../helpers/receive-cli.js';
import { jsonSummary } from '../helpers/ship-cli.js';

const receiver = receivers();

/**
 * A log directory as a node keeps it: audit.log (30), its rotations audit.log.1 (20) and
 * old/audit.log.2.gz (10), a link to a log kept elsewhere (5), and what is not a log: notes.txt,
 * a link to a directory, a link to nothing, and a named pipe a logger writes to (read, it held the
 * run until a writer came). Returns the directory and the records it holds.
 */
function logDirectory(): { dir: string; records: string[] } {
  const dir = tempDir('audit-ship-dir-');
  const elsewhere = tempDir('audit-ship-elsewhere-');
  mkdirSync(join(dir, 'old'));
  const parts = [lines(30, 811), lines(20, 812), lines(10, 813), lines(5, 814)];
  writeFileSync(join(dir, 'audit.log'), parts[0]!.join(''));
  writeFileSync(join(dir, 'audit.log.1'), parts[1]!.join(''));
  writeFileSync(join(dir, 'old', 'audit.log.2.gz'), gzipSync(parts[2]!.join('')));
  writeFileSync(join(elsewhere, 'kept.jsonl'), parts[3]!.join(''));
  symlinkSync(join(elsewhere, 'kept.jsonl'), join(dir, 'kept.jsonl'));
  writeFileSync(join(dir, 'notes.txt'), 'not a log\n');
  symlinkSync(elsewhere, join(dir, 'elsewhere'));
  symlinkSync(join(elsewhere, 'gone.log'), join(dir, 'gone.log'));
  assert.equal(spawnSync('mkfifo', [join(dir, 'syslog.log')]).status, 0, 'mkfifo');
  return { dir, records: parts.flat() };
}

describe('audit-ship with a directory or a quoted glob', () => {
  it('ships every log file under a directory, links to files included, and lists what it left', async () => {
    const r = await receiver();
    const { dir, records } = logDirectory();
    const res = await runCli(['--port', String(r.port), '--summary', 'json', dir]);
    assert.equal(res.code, EXIT.ok, res.stderr);
    assert.deepEqual(r.requestIds().sort(), records.map(idOf).sort(), 'each record of each log file once');
    assert.equal(jsonSummary(res.stderr).recordsAcked, 65);
    assert.match(res.stderr, /notes\.txt: skipped, not a \.log, \.jsonl, \.json, \.ndjson or \.gz file/);
    assert.match(res.stderr, /elsewhere: skipped, a link to a directory, not followed/);
    assert.match(res.stderr, /gone\.log: skipped, a link to nothing/);
    assert.match(res.stderr, /syslog\.log: skipped, a named pipe, not a file \(named on its own, it is read as a stream\)/);
  });

  // A name in a note acted on the terminal: `\e[2J` cleared the screen of whoever read the run.
  it('names files that hold control characters escaped in its notes', async () => {
    const r = await receiver();
    const dir = tempDir('audit-ship-dir-');
    const records = lines(2, 815);
    writeFileSync(join(dir, 'read\u001b[2Jme\n.txt'), 'not a log\n');
    writeFileSync(join(dir, 'pad\u001b[31m.log'), `${records[0]!.trimEnd()}${'\0'.repeat(100)}${records[1]}`);
    const res = await runCli(['--port', String(r.port), dir]);
    assert.equal(res.code, EXIT.ok, res.stderr);
    assert.deepEqual(r.requestIds(), records.map(idOf));
    assert.ok(!res.stderr.includes('\u001b'), res.stderr);
    assert.match(res.stderr, /read\\u001b\[2Jme\\n\.txt: skipped, not a \.log/);
    assert.match(res.stderr, /pad\\u001b\[31m\.log:1: 100 NUL bytes of zero padding dropped/);
  });

  it('matches a quoted glob itself, in order of path, with several readers too', async () => {
    for (const workers of ['1', '2']) {
      const r = await receiver();
      const { dir } = logDirectory();
      const res = await runCli(['--port', String(r.port), '--workers', workers, `${dir}/**/audit.log*`]);
      assert.equal(res.code, EXIT.ok, res.stderr);
      const expected = [...lines(30, 811), ...lines(20, 812), ...lines(10, 813)].map(idOf);
      const got = r.requestIds();
      assert.deepEqual([...got].sort(), [...expected].sort(), `--workers ${workers}: the three rotations, nothing else`);
      if (workers === '1') assert.deepEqual(got, expected, 'one reader: audit.log, audit.log.1, old/audit.log.2.gz in turn');
    }
  });

  // Each would otherwise be shipped once per name: every record a duplicate at the server.
  it('ships a file once however often it is named: again, through a link, or a hard link', async () => {
    for (const workers of ['1', '2']) {
      const r = await receiver();
      const { dir, records } = logDirectory();
      symlinkSync(join(dir, 'audit.log'), join(dir, 'current.log'));
      linkSync(join(dir, 'audit.log.1'), join(dir, 'old', 'audit.log.1'));
      const log = join(dir, 'audit.log');
      const res = await runCli(['--port', String(r.port), '--workers', workers, dir, log, `${dir}/**/*.log*`]);
      assert.equal(res.code, EXIT.ok, res.stderr);
      assert.deepEqual(r.requestIds().sort(), records.map(idOf).sort(), `--workers ${workers}: each record once`);
      assert.match(res.stderr, /current\.log: skipped, the same file as .*audit\.log, read once/);
      assert.match(res.stderr, /old\/audit\.log\.1: skipped, the same file as .*audit\.log\.1, read once/);
      assert.match(res.stderr, /audit\.log: skipped, named again, read once/);
    }
  });

  it('refuses names that come to no file, and then reads nothing, stdin included', async () => {
    const r = await receiver();
    const empty = tempDir('audit-ship-empty-');
    writeFileSync(join(empty, 'README'), 'no logs here\n');
    const res = await runCli(['--port', String(r.port), empty, `${empty}/*.gz`], { input: lines(3, 815).join('') });
    assert.equal(res.code, EXIT.usage, res.stderr);
    assert.match(res.stderr, /\*\.gz: no file matches/);
    assert.match(res.stderr, /README: skipped, not a \.log/);
    assert.match(
      res.stderr,
      /no input files: .* named no \.log, \.jsonl, \.json, \.ndjson or \.gz file; a quoted glob reads files of other names: '\S+\/\*' \(ERR_AUDIT_SHIP_INPUT\)/,
    );
    assert.equal(r.events().length, 0, 'stdin was not read in place of the empty directory');
  });

  it('ships only what is new in the directory on each run with --checkpoint, as from cron', async () => {
    const r = await receiver();
    const { dir, args } = cronJob(r.port);
    const first = lines(40, 816);
    writeFileSync(join(dir, 'audit.log'), first.join(''));
    assert.equal((await runCli(args)).code, EXIT.ok);

    // An hour later: the live log grew, and a rotated file appeared.
    const grown = lines(15, 817);
    const rotated = lines(25, 818);
    appendFileSync(join(dir, 'audit.log'), grown.join(''));
    writeFileSync(join(dir, 'audit-2021-09-22.log.gz'), gzipSync(rotated.join('')));
    const second = await runCli([...args, '--summary', 'json']);
    assert.equal(second.code, EXIT.ok, second.stderr);
    assert.equal(jsonSummary(second.stderr).lines, 40, 'the second run read only the new lines');
    assert.deepEqual(r.requestIds().sort(), [...first, ...grown, ...rotated].map(idOf).sort(), 'every record once over both runs');

    const third = await runCli(args);
    assert.equal(third.code, EXIT.ok);
    assert.match(third.stderr, /\n2 files already shipped to the end \(checkpoint\), skipped\n/);
    assert.equal(r.events().length, 80);
  });
});
