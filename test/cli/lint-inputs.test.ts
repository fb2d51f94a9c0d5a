/**
 * What lint is given: directories searched recursively (nested .gz included, links to files read,
 * other files and links listed and skipped), globs in quotes matched by audit-ship itself, gzip on stdin, and empty input failing
 * unless --allow-empty.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, linkSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { globPattern, LOG_FILE } from '../../src/input/expand.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { lines, smallFiles } from '../helpers/ledger.js';
import { CLI } from '../helpers/paths.js';

interface LintSummary {
  lines: number;
  records: number;
  valid: number;
  invalid: number;
  files: { file: string; records: number; errors: number }[];
}
const summaryOf = (stderr: string) => JSON.parse(stderr.trim().split('\n').pop()!) as LintSummary;

/** A tree of logs: top.jsonl (10), a/b/old.jsonl.gz (20), a/rotated.log.gz (5), a/notes.txt. */
function logTree(): string {
  const root = tempDir('audit-ship-lint-tree-');
  mkdirSync(join(root, 'a', 'b'), { recursive: true });
  writeFileSync(join(root, 'top.jsonl'), lines(10, 601).join(''));
  writeFileSync(join(root, 'a', 'b', 'old.jsonl.gz'), gzipSync(lines(20, 602).join('')));
  writeFileSync(join(root, 'a', 'rotated.log.gz'), gzipSync(lines(5, 603).join('')));
  writeFileSync(join(root, 'a', 'notes.txt'), 'not a log\n');
  return root;
}

describe('lint inputs', () => {
  it('searches a directory recursively, reads nested gzip, and lists what it skipped', async () => {
    const root = logTree();
    const res = await runCli(['lint', '--summary', 'json', root]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /a\/notes\.txt: skipped, not a \.log, \.jsonl, \.json, \.ndjson or \.gz file/);
    const s = summaryOf(res.stderr);
    assert.equal(s.valid, 35);
    assert.deepEqual(
      s.files.map((f) => [f.file.slice(root.length + 1), f.records]),
      [
        ['a/b/old.jsonl.gz', 20],
        ['a/rotated.log.gz', 5],
        ['top.jsonl', 10],
      ],
    );
  });

  it('reads a link to a log file, and lists a link to a directory or to nothing', async () => {
    const root = logTree();
    const elsewhere = tempDir('audit-ship-lint-elsewhere-');
    writeFileSync(join(elsewhere, 'kept.jsonl'), lines(4, 605).join(''));
    symlinkSync(join(elsewhere, 'kept.jsonl'), join(root, 'kept.jsonl'));
    symlinkSync(elsewhere, join(root, 'elsewhere'));
    symlinkSync(join(elsewhere, 'gone.jsonl'), join(root, 'gone.jsonl'));
    const res = await runCli(['lint', '--summary', 'json', root]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(summaryOf(res.stderr).valid, 39, 'the 35 of the tree and the 4 behind the link');
    assert.match(res.stderr, /elsewhere: skipped, a link to a directory, not followed/);
    assert.match(res.stderr, /gone\.jsonl: skipped, a link to nothing/);
  });

  it('checks a file once however often it is named: again, through a link, or a hard link', async () => {
    const root = logTree();
    symlinkSync(join(root, 'top.jsonl'), join(root, 'current.jsonl'));
    linkSync(join(root, 'top.jsonl'), join(root, 'top.jsonl.1'));
    const current = join(root, 'current.jsonl'); // first in the directory's order
    const res = await runCli(['lint', '--summary', 'json', root, join(root, 'top.jsonl'), `${root}/*.jsonl*`]);
    assert.equal(res.code, 0, res.stderr);
    const summary = summaryOf(res.stderr);
    assert.equal(summary.valid, 35, 'the 35 records of the tree, each once');
    assert.deepEqual(
      summary.files.map((f) => f.file).filter((f) => f.endsWith('.jsonl') || f.endsWith('.jsonl.1')),
      [current],
      'the file reported under its first name only',
    );
    assert.match(res.stderr, /top\.jsonl: skipped, the same file as .*current\.jsonl, read once/);
    assert.match(res.stderr, /top\.jsonl\.1: skipped, the same file as .*current\.jsonl, read once/);
    assert.match(res.stderr, /current\.jsonl: skipped, named again, read once/);
  });

  it('matches a quoted glob itself, ** included', async () => {
    const root = logTree();
    const res = await runCli(['lint', '--summary', 'json', `${root}/**/*.gz`]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(
      summaryOf(res.stderr).files.map((f) => f.file.slice(root.length + 1)),
      ['a/b/old.jsonl.gz', 'a/rotated.log.gz'],
    );
    const relative = await runCli(['lint', '--summary', 'json', 'a/*.gz'], { cwd: root });
    assert.deepEqual(
      summaryOf(relative.stderr).files.map((f) => f.file),
      ['a/rotated.log.gz'],
    );
  });

  it('says a text line per file when there are several', async () => {
    const root = logTree();
    const res = await runCli(['lint', root]);
    assert.match(res.stderr, /top\.jsonl: 10 lines read: 10 valid, 0 invalid, 0 skipped; 0 errors, 0 warnings\n/);
  });

  it('past 20 inputs, gives a line only for each file with a finding, and counts the others', async () => {
    const dir = tempDir('audit-ship-lint-many-');
    const { files, records } = smallFiles(dir, 25, 2, 605);
    writeFileSync(files[7]!, `${records[7]!.join('')}not json\n`);
    writeFileSync(files[19]!, records[19]!.join('').replace(/"Method":"[A-Z]+"/, '"Method":"PURGE"'));
    const res = await runCli(['lint', dir]);
    assert.equal(res.code, 1, res.stderr);
    const perFile = res.stderr.split('\n').filter((l) => / lines? read: /.test(l) && !l.startsWith('audit-ship lint: '));
    assert.deepEqual(
      perFile.map((l) => l.replace(/^\S+\//, '')),
      [
        'audit-07.log: 3 lines read: 2 valid, 1 invalid, 0 skipped; 1 error, 0 warnings',
        'audit-19.log: 2 lines read: 2 valid, 0 invalid, 0 skipped; 0 errors, 1 warning',
      ],
    );
    assert.match(res.stderr, /^audit-ship lint: 23 other files with no finding \(--summary json lists each file\)$/m);
    assert.match(res.stderr, /^audit-ship lint: 51 lines read: 50 valid, 1 invalid/m);
    // With no finding at all, the count alone; at 20 files, a line for each as before.
    const cleanDir = tempDir('audit-ship-lint-clean-');
    smallFiles(cleanDir, 21, 2, 630);
    const clean = await runCli(['lint', cleanDir]);
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(
      clean.stderr,
      /^audit-ship lint: 21 files with no finding \(--summary json lists each file\)\naudit-ship lint: 42 lines read/m,
    );
    const twenty = await runCli(['lint', join(cleanDir, 'audit-0*.log'), join(cleanDir, 'audit-1*.log')]);
    assert.equal(twenty.stderr.match(/\.log: 2 lines read: 2 valid/g)?.length, 20, twenty.stderr);
  });

  it('a directory it cannot read is an input error naming it, for lint and ship, before anything is read', (t) => {
    // Root reads any directory: as root, the CLI runs as nobody (setpriv), to whom the mode applies.
    const root = process.getuid?.() === 0;
    if (root && spawnSync('setpriv', ['--version']).status !== 0) return t.skip('running as root without setpriv to drop to nobody');
    const dir = tempDir('audit-ship-lint-perm-');
    chmodSync(dir, 0o777); // mkdtemp's 0700 would shut nobody out of the whole tree
    mkdirSync(join(dir, 'logs', 'private'), { recursive: true });
    writeFileSync(join(dir, 'logs', 'a.jsonl'), lines(3, 606).join(''));
    writeFileSync(join(dir, 'logs', 'private', 'b.jsonl'), lines(3, 607).join(''));
    chmodSync(join(dir, 'logs', 'private'), 0o000);
    t.after(() => chmodSync(join(dir, 'logs', 'private'), 0o755));
    // Node hands a child the coverage directory of the run that started it, which nobody cannot
    // write to (and says so on stderr): these runs' coverage goes where nobody can write, unread.
    const coverage = join(dir, 'coverage');
    mkdirSync(coverage);
    chmodSync(coverage, 0o777);
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', NODE_V8_COVERAGE: coverage };
    const run = (args: string[]) => {
      const command = [process.execPath, CLI, ...args];
      const res = root
        ? spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...command], { env, cwd: dir })
        : spawnSync(command[0]!, command.slice(1), { env, cwd: dir });
      return { code: res.status, stderr: res.stderr.toString() };
    };
    for (const args of [
      ['lint', 'logs'],
      ['lint', 'logs/**/*.jsonl'],
      ['ship', '--port', '1', '--spool-dir', join(dir, 'spool'), 'logs'],
    ]) {
      const res = run(args);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.equal(
        res.stderr,
        'audit-ship: logs/private: permission denied (a directory searched for logs) (ERR_AUDIT_SHIP_INPUT)\n',
        args.join(' '),
      );
    }
  });

  it('a Unix socket named as an input is said to be one, exit 2', async (t) => {
    const path = join(tempDir('audit-ship-lint-sock-'), 'fluent.sock');
    const server = createServer().listen(path);
    await once(server, 'listening');
    t.after(() => server.close());
    const res = await runCli(['lint', path]);
    assert.equal(res.code, 2, res.stderr);
    assert.match(
      res.stderr,
      /fluent\.sock: not a file that can be read: a socket, or a device with nothing behind it \(ENXIO\) \(ERR_AUDIT_SHIP_INPUT_READ\)/,
    );
  });

  it('reads gzip on stdin as the records it holds', async () => {
    const res = await runCli(['lint', '--summary', 'json', '-'], { input: gzipSync(lines(37, 604).join('')) });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(summaryOf(res.stderr).valid, 37);
  });

  it('fails when there is nothing to check, unless --allow-empty', async () => {
    const empty = tempDir('audit-ship-lint-empty-');
    const none = await runCli(['lint', `${empty}/*.jsonl`]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no file matches/);
    assert.match(none.stderr, /no input files to check \(--allow-empty accepts that\) \(ERR_AUDIT_SHIP_EMPTY_INPUT\)/);
    assert.equal((await runCli(['lint', '--allow-empty', `${empty}/*.jsonl`])).code, 0);
    // Logs under another name: the glob the end suggests reads them.
    writeFileSync(join(empty, 'audit.txt'), lines(5, 55).join(''));
    const other = await runCli(['lint', empty]);
    assert.equal(other.code, 1);
    const glob = /no input files to check; a quoted glob reads files of other names: '(\S+\/\*\.txt)' \(--allow-empty accepts that\)/.exec(
      other.stderr,
    );
    assert.ok(glob, other.stderr);
    const globbed = await runCli(['lint', '--summary', 'json', glob[1]!]);
    assert.equal(globbed.code, 0, globbed.stderr);
    assert.equal(summaryOf(globbed.stderr).valid, 5);
    const noLines = await runCli(['lint', '-'], { input: '' });
    assert.equal(noLines.code, 1);
    assert.match(noLines.stderr, /no lines to check/);
    assert.equal((await runCli(['lint', '--allow-empty', '-'], { input: '' })).code, 0);
    // Once exit 0: with --mixed, logs in a format audit-ship does not read are all skipped.
    const noRecords = await runCli(['lint', '--mixed', '-'], { input: 'I0922 an application log\n{"level":"info"}\n\n' });
    assert.equal(noRecords.code, 1);
    assert.match(noRecords.stderr, /no audit record to check among the 3 lines read \(--allow-empty accepts that\)/);
    assert.equal((await runCli(['lint', '--mixed', '--allow-empty', '-'], { input: 'I0922 an application log\n' })).code, 0);
    // Lines that are all errors fail on the errors: --allow-empty would change nothing, so it is not offered.
    for (const args of [
      ['lint', '-'],
      ['lint', '--allow-empty', '-'],
    ]) {
      const errorsOnly = await runCli(args, { input: 'not json\n{"Host":"x"}\n' });
      assert.equal(errorsOnly.code, 1);
      assert.match(errorsOnly.stderr, /2 errors/);
      assert.doesNotMatch(errorsOnly.stderr, /allow-empty|no audit record to check/);
    }
  });

  it('refuses an --output that is one of the inputs, and leaves that log as it was', async (t) => {
    const root = logTree();
    const log = join(root, 'top.jsonl');
    const before = readFileSync(log);
    // What a glob after --output expands to: the first log becomes the report.
    const res = await runCli(['lint', '--format', 'json', '--output', log, join(root, 'a')]);
    assert.equal(res.code, 0, 'a report beside the inputs is fine');
    writeFileSync(log, before);
    const globbed = await runCli(['lint', '--format', 'sarif', '--output', log, log, join(root, 'a')]);
    assert.equal(globbed.code, 2, globbed.stderr);
    assert.match(
      globbed.stderr,
      /--output \S+top\.jsonl is the input \S+top\.jsonl: audit-ship does not write to a log it reads \(ERR_AUDIT_SHIP_USAGE\)/,
    );
    assert.deepEqual(readFileSync(log), before);
    // The log redirected to stdin (`lint --output top.jsonl < top.jsonl`).
    const fd = openSync(log, 'r');
    t.after(() => closeSync(fd));
    const redirected = await runCli(['lint', '--output', log], { stdinFd: fd });
    assert.equal(redirected.code, 2, redirected.stderr);
    assert.match(redirected.stderr, /--output \S+top\.jsonl is the file on stdin/);
    assert.deepEqual(readFileSync(log), before);
    // A path that cannot be looked at is left to the open, which names what is wrong.
    const through = await runCli(['lint', '--output', join(log, 'report.json'), log]);
    assert.equal(through.code, 2, through.stderr);
    assert.match(through.stderr, /--output \S+top\.jsonl\/report\.json: not a directory \(ERR_AUDIT_SHIP_OUTPUT\)/);
    // Another name for the same file (a hard link, found in a directory) is the same file.
    linkSync(log, join(root, 'a', 'linked.jsonl'));
    const linked = await runCli(['lint', '--format', 'junit', '--output', log, join(root, 'a')]);
    assert.equal(linked.code, 2, linked.stderr);
    assert.match(linked.stderr, /is the input \S+linked\.jsonl/);
    assert.deepEqual(readFileSync(log), before);
  });

  // A CI job keeping its reports beside the logs it checks: every run after the first stopped, exit 2.
  it('leaves out its own reports that a directory holds, in every format, with findings or none; still refuses one named', async () => {
    for (const bad of [false, true]) {
      const dir = tempDir();
      writeFileSync(join(dir, 'audit.jsonl'), `${lines(5, 52).join('')}${bad ? '{"RequestID":"not-a-record"}\n' : ''}`);
      // Named so that the directory search takes each one (.log, .json, .ndjson).
      const reports = ['text', 'json', 'github', 'sarif', 'junit', 'gitlab'].map(
        (format, i) => [format, join(dir, `report-${format}.${['log', 'ndjson', 'json'][i % 3]}`)] as const,
      );
      const args = ['lint', ...reports.flatMap(([format, path]) => ['--format', format, '--output', path]), dir];
      const first = await runCli(args);
      assert.equal(first.code, bad ? 1 : 0, first.stderr);
      const written = reports.map(([, path]) => readFileSync(path, 'utf8'));
      const again = await runCli(args);
      assert.equal(again.code, first.code, again.stderr);
      for (const [format, path] of reports) {
        assert.ok(again.stderr.includes(`skipped ${path}: the --output file of this run, not a log`), `${format}: ${again.stderr}`);
      }
      assert.deepEqual(
        reports.map(([, path]) => readFileSync(path, 'utf8')),
        written,
        'the same reports: nothing read from the reports themselves',
      );
      const named = await runCli([...args, reports[1]![1]]);
      assert.equal(named.code, 2, named.stderr);
      assert.match(named.stderr, /--output \S+report-json\.ndjson is the input \S+report-json\.ndjson/);
    }
  });

  it('turns globs into patterns over paths', () => {
    const p = globPattern('logs/**/*.gz');
    assert.ok(p.test('logs/a.gz') && p.test('logs/x/y/a.gz'));
    assert.ok(!p.test('logs/a.gzz') && !p.test('other/a.gz'));
    assert.ok(globPattern('a/?.log').test('a/1.log') && !globPattern('a/?.log').test('a/12.log'));
    assert.ok(globPattern('a/[0-9].log').test('a/7.log') && !globPattern('a/[!0-9].log').test('a/7.log'));
    assert.ok(!globPattern('a/*.log').test('a/b/c.log'));
    const logs = ['x.log', 'x.log.1', 'x.log.2.gz', 'x.jsonl', 'x.ndjson.gz', 'x.gz'];
    // Dated rotations: logrotate's dateext (default and custom dateformat), the kubelet's.
    logs.push('x.log-20210920', 'x.log-20210920.gz', 'x.log-2021-09-20', 'x.log.2021-09-20', '0.log.20210920-101010.gz');
    for (const name of logs) assert.match(name, LOG_FILE);
    for (const name of ['x.txt', 'x.log.bak', 'x.log-old', 'x.log~', 'x.log.1.swp', 'notes']) assert.doesNotMatch(name, LOG_FILE);
  });
});
