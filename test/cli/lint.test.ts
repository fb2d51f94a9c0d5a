import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { EXIT } from '../../src/cli/exit.js';
import { MAX_RECORD_DEPTH } from '../../src/msgpack/writer.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { nested, withForbiddenKeys } from '../helpers/ledger.js';
import { receivers } from '../helpers/receive-cli.js';
import { fixture, readCases, seedExample } from '../helpers/paths.js';

const record = JSON.stringify(seedExample());
const dir = tempDir('audit-ship-lint-');
const receiver = receivers();

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

interface JsonDiagnostic {
  file: string;
  line: number;
  severity: string;
  field: string | null;
  code: string;
  message: string;
}

function ndjson(stdout: string): JsonDiagnostic[] {
  return stdout.trim() === ''
    ? []
    : stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as JsonDiagnostic);
}

describe('audit-ship lint', () => {
  it('exits 0 on valid records and prints a summary on stderr, nothing on stdout', async () => {
    const r = await runCli(['lint', fixture('seed-example.json').replace('.json', '.json')], { input: '' });
    // The pretty-printed example is not one record per line: lint must say so, not crash.
    assert.equal(r.code, 1);
    const ok = await runCli(['lint'], { input: `${record}\n${record}\r\n\n` });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, '');
    assert.match(ok.stderr, /3 lines read: 2 valid, 0 invalid, 1 skipped \(0 not audit records, 1 blank\); 0 errors, 0 warnings\n/);
    assert.match(ok.stderr, /MB\/s/);
    const one = await runCli(['lint'], { input: `${record}\n` });
    assert.match(one.stderr, /^audit-ship lint: 1 line read: 1 valid, 0 invalid, 0 skipped .*; 0 errors, 0 warnings\n\d/);
  });

  it('counts each line once in its summary, so that the counts add up to the lines read', async () => {
    // Lines that are not audit records are invalid without --mixed: they were once left out of a
    // count of records that stood beside them ("3 records, 3 valid, 1 invalid").
    const input = [record, '{"level":"info"}', 'garbage', record, '', record.replace(/"RequestID":"[^"]*"/, '"RequestID":"x"')].join('\n');
    const text = await runCli(['lint'], { input: `${input}\n` });
    assert.equal(text.code, 1);
    assert.match(
      text.stderr,
      /^audit-ship lint: 6 lines read: 2 valid, 3 invalid, 1 skipped \(0 not audit records, 1 blank\); 3 errors, 0 warnings\n/,
    );
    const json = await runCli(['lint', '--summary', 'json'], { input: `${input}\n` });
    const s = JSON.parse(json.stderr) as Record<string, number>;
    assert.deepEqual([s.lines, s.records, s.valid, s.invalid, s.blank, s.skipped], [6, 3, 2, 3, 1, 0]);
    assert.equal(s.valid! + s.invalid! + s.blank! + s.skipped!, s.lines);
  });

  it('reads files in order, .gz transparently, and - as stdin', async () => {
    const plain = file('a.jsonl', `${record}\nnot json\n`);
    const gz = file('b.jsonl.gz', gzipSync(`${record}\n{"Host":1}\n`));
    const r = await runCli(['lint', '--format', 'json', plain, gz, '-'], { input: '[]\n' });
    assert.equal(r.code, 1);
    assert.deepEqual(
      ndjson(r.stdout).map((d) => [d.file, d.line, d.code]),
      [
        [plain, 2, 'not-json'],
        [gz, 2, 'not-audit-record'],
        ['<stdin>', 1, 'not-object'],
      ],
    );
  });

  it('recognises gzip by its magic bytes when the name does not say .gz', async () => {
    const gz = file('renamed.log', gzipSync(`${record}\n`));
    const r = await runCli(['lint', gz]);
    assert.equal(r.code, 0, r.stderr);
  });

  it('emits NDJSON with the documented keys, lines counted from 1', async () => {
    const bad = { ...seedExample(), ResponseStatus: 700 };
    const r = await runCli(['lint', '--format', 'json'], { input: `\n${JSON.stringify(bad)}\n` });
    const [d] = ndjson(r.stdout);
    assert.deepEqual(d, {
      file: '<stdin>',
      line: 2,
      severity: 'error',
      field: 'ResponseStatus',
      code: 'status-out-of-range',
      message: 'expected HTTP status 100-599, found 700',
    });
  });

  it('prints text diagnostics as file:line: severity FIELD: message', async () => {
    const bad = { ...seedExample(), Method: 'PROPFIND' };
    const r = await runCli(['lint'], { input: `${JSON.stringify(bad)}\n` });
    assert.equal(r.code, 0, 'a warning alone does not fail the run');
    assert.equal(r.stdout, '<stdin>:1: warning Method: unusual HTTP method "PROPFIND" [unusual-method]\n');
  });

  // A key or a file name printed as it was could clear the reader's screen or split a finding in two.
  it('prints keys and file names that hold control characters escaped, one finding a line', async () => {
    const odd = '\u001b[2J\nX\u202e';
    const input = JSON.stringify({ ...seedExample(), [odd]: 1, Host: 5 });
    const dir = tempDir();
    const file = join(dir, 'a\u001b[31m\nb.jsonl');
    writeFileSync(file, `${input}\n`);
    const r = await runCli(['lint', '--strict', file]);
    const escapedFile = `${dir}/a\\u001b[31m\\nb.jsonl`;
    assert.equal(
      r.stdout,
      `${escapedFile}:1: error Host: expected non-empty string, found number 5 [wrong-type]\n` +
        `${escapedFile}:1: error \\u001b[2J\\nX\\u202e: unknown field "\\u001b[2J\\nX\\u202e" (--strict) [unknown-field]\n`,
    );
    const github = await runCli(['lint', '--strict', '--format', 'github', file]);
    assert.ok(!github.stdout.includes('\u001b'), github.stdout);
    assert.equal(github.stdout.trimEnd().split('\n').length, 2);
    const json = ndjson((await runCli(['lint', '--strict', '--format', 'json', file])).stdout);
    assert.equal(json[1]!.field, odd, 'NDJSON keeps the key as it is, for scripts');
    const plain = join(dir, 'plain.jsonl');
    writeFileSync(plain, `${record}\n`);
    const two = await runCli(['lint', file, plain]);
    assert.ok(!two.stderr.includes('\u001b'), two.stderr);
    assert.match(two.stderr, /a\\u001b\[31m\\nb\.jsonl: 1 line read/, 'the summary line of each file');
  });

  it('prints GitHub workflow annotations with escaped properties', async () => {
    const r = await runCli(['lint', '--format', 'github'], { input: 'a,b\n' });
    assert.match(r.stdout, /^::error file=<stdin>,line=1,title=audit-ship not-json::not valid JSON: /);
  });

  it('says in a GitHub notice how many findings there were when GitHub annotates only some', async () => {
    // Past 10 errors (or warnings) a step, GitHub drops annotations without a word.
    const lines = (n: number) => 'x\n'.repeat(n);
    const many = await runCli(['lint', '--format', 'github'], { input: lines(11) });
    const out = many.stdout.trimEnd().split('\n');
    assert.equal(out.filter((l) => l.startsWith('::error ')).length, 11, 'every finding is still listed');
    assert.equal(
      out.at(-1),
      "::notice title=audit-ship lint::11 errors and 0 warnings: GitHub annotates the first 10 of each a step; this step's log lists every one",
    );
    const warned = { ...seedExample(), Method: 'PROPFIND' };
    const warnings = await runCli(['lint', '--format', 'github'], { input: `${JSON.stringify(warned)}\n`.repeat(12) + lines(1) });
    assert.match(warnings.stdout, /::notice title=audit-ship lint::1 error and 12 warnings: /);
    const few = await runCli(['lint', '--format', 'github'], { input: lines(10) });
    assert.doesNotMatch(few.stdout, /::notice/, 'all 10 are annotated: nothing to say');
  });

  it('adds a GitHub job summary of the findings by code and by file, when run as a GitHub Actions step', async () => {
    const summary = join(dir, 'step-summary.md');
    const warned = JSON.stringify({ ...seedExample(), Method: 'PROPFIND' });
    const bad = file('bad|name.jsonl', `${'x\n'.repeat(11)}${warned}\n`);
    const clean = file('clean.jsonl', `${record}\n`);
    const env = { GITHUB_STEP_SUMMARY: summary };
    const r = await runCli(['lint', '--format', 'github', clean, bad], { env });
    assert.equal(r.code, EXIT.failure);
    assert.equal(
      readFileSync(summary, 'utf8'),
      [
        '### audit-ship lint',
        '',
        '**11 errors, 1 warning** in 1 of 2 files, 2 records checked.',
        '',
        '| finding | severity | count | first |',
        '| --- | --- | ---: | --- |',
        `| \`not-json\` | error | 11 | \`${bad.replace('|', '\\|')}\` line 1 |`,
        `| \`unusual-method\` | warning | 1 | \`${bad.replace('|', '\\|')}\` line 12 |`,
        '',
        '| file | errors | warnings |',
        '| --- | ---: | ---: |',
        `| \`${bad.replace('|', '\\|')}\` | 11 | 1 |`,
        '',
        '',
      ].join('\n'),
    );
    await runCli(['lint', '--format', 'github', clean], { env });
    assert.match(
      readFileSync(summary, 'utf8'),
      /### audit-ship lint\n\nNo findings \(1 file, 1 record checked\)\.\n\n$/,
      'appended, as GitHub wants',
    );
    const other = join(dir, 'not-github.md');
    await runCli(['lint', '--format', 'json', bad], { env: { GITHUB_STEP_SUMMARY: other } });
    assert.equal(existsSync(other), false, 'only the github format writes one');
  });

  it('runs on after every malformed line and reports each one', async () => {
    const input = ['garbage', record, '{"RequestID":', record, 'x'.repeat(4000), record].join('\n');
    const r = await runCli(['lint', '--format', 'json', '--max-line-bytes', '3000', '--summary', 'json'], { input });
    assert.deepEqual(
      ndjson(r.stdout).map((d) => [d.line, d.code]),
      [
        [1, 'not-json'],
        [3, 'not-json'],
        [5, 'line-too-long'],
      ],
    );
    const summary = JSON.parse(r.stderr) as Record<string, number>;
    assert.equal(summary.valid, 3);
    assert.equal(summary.invalid, 3);
  });

  // Each full report started a write and a wait of its own: Node warned of a listener leak on
  // stderr, and the text queued without bound.
  it("writes a line's many findings in order, each waiting for room, the parts of a padded line one after the other", async () => {
    const input = `${withForbiddenKeys(60_000, 'a')}${'\0'.repeat(64)}${withForbiddenKeys(40_000, 'b')}\n`;
    const r = await runCli(['lint', '--format', 'json', '--summary', 'json'], { input });
    assert.equal(r.code, 1);
    const summary = JSON.parse(r.stderr) as Record<string, number>;
    assert.equal(summary.errors, 100_000);
    const fields = ndjson(r.stdout).map((d) => `${d.code} ${d.field}`);
    assert.equal(fields.length, 100_001);
    assert.equal(fields[0], 'nul-padding null');
    assert.deepEqual(fields.slice(1), [
      ...Array.from({ length: 60_000 }, (_, i) => `forbidden-key a${i}.__proto__`),
      ...Array.from({ length: 40_000 }, (_, i) => `forbidden-key b${i}.__proto__`),
    ]);
    const stopped = await runCli(['lint', '--format', 'json', '--max-errors', '5'], { input });
    assert.equal(ndjson(stopped.stdout).length, 6);
  });

  it('with --mixed, counts application log lines as skipped and still reports damaged records', async () => {
    const input = ['I0922 server started', '{"level":"info","msg":"x"}', record, record.slice(0, 100), ''].join('\n');
    const r = await runCli(['lint', '--mixed', '--format', 'json', '--summary', 'json'], { input });
    assert.deepEqual(
      ndjson(r.stdout).map((d) => [d.line, d.code]),
      [[4, 'not-json']],
    );
    const summary = JSON.parse(r.stderr.trim()) as Record<string, number>;
    assert.equal(summary.skipped, 2);
    assert.equal(summary.blank, 0);
    assert.equal(summary.valid, 1);
    assert.equal(summary.invalid, 1);
  });

  it('rejects unknown fields with --strict only', async () => {
    const extra = JSON.stringify({ ...seedExample(), Extra: true });
    assert.equal((await runCli(['lint'], { input: extra })).code, 0);
    const r = await runCli(['lint', '--strict', '--format', 'json'], { input: extra });
    assert.equal(r.code, 1);
    assert.equal(ndjson(r.stdout)[0]!.code, 'unknown-field');
  });

  it('stops after --max-errors errors', async () => {
    const r = await runCli(['lint', '--max-errors', '2', '--format', 'json'], { input: 'a\nb\nc\nd\n' });
    assert.equal(r.code, 1);
    assert.equal(ndjson(r.stdout).length, 2);
    assert.match(r.stderr, /stopped after 2 errors/);
  });

  it('lints the whole invalid fixture corpus with one error per line', async () => {
    const cases = readCases('records-invalid.jsonl');
    const input = cases.map((c) => JSON.stringify(c.record)).join('\n');
    const r = await runCli(['lint', '--format', 'json'], { input });
    const errors = ndjson(r.stdout).filter((d) => d.severity === 'error');
    assert.deepEqual(
      errors.map((d) => d.code),
      cases.map((c) => c.code),
    );
  });

  it('exits 2 with a clear message for a missing file, before reading anything', async () => {
    const r = await runCli(['lint', join(dir, 'missing.jsonl')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing\.jsonl: no such file or directory/);
  });

  it('exits 2 for a corrupt gzip file', async () => {
    const broken = gzipSync(`${record}\n`.repeat(100)).subarray(0, 200);
    const r = await runCli(['lint', file('broken.gz', broken)]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /broken\.gz: /);
  });

  // A truncated archive once ended the run with one line on stderr: no report for CI, the other
  // files unchecked.
  it('a gzip cut partway: checked up to the cut, reported as input-unreadable, the next file checked, exit 2', async () => {
    const whole = gzipSync(`${record}\n`.repeat(2000));
    const cut = file('cut.jsonl.gz', whole.subarray(0, whole.length >> 1));
    const next = file('after-cut.jsonl', `${record}\n{"Host":1}\n`);
    const junit = join(dir, 'cut-junit.xml');
    const r = await runCli([
      'lint',
      '--summary',
      'json',
      '--format',
      'json',
      '--format',
      'junit',
      '--output',
      '-',
      '--output',
      junit,
      cut,
      next,
    ]);
    assert.equal(r.code, 2, r.stderr);
    const summary = JSON.parse(
      r.stderr
        .trim()
        .split('\n')
        .find((l) => l.startsWith('{'))!,
    ) as { files: { file: string; lines: number }[] };
    const read = summary.files.find((f) => f.file === cut)!.lines;
    assert.ok(read > 0 && read < 2000, `the lines before the cut are checked (${read})`);
    const found = ndjson(r.stdout);
    assert.deepEqual(
      found.filter((d) => d.file === cut).map((d) => [d.line, d.code, d.severity]),
      [[read + 1, 'input-unreadable', 'error']],
    );
    assert.match(
      found.find((d) => d.file === cut)!.message,
      new RegExp(
        `^not valid gzip data \\(unexpected end of file\\), before input byte ${whole.length >> 1}; the ${read} lines before it were checked$`,
      ),
    );
    assert.deepEqual(
      found.filter((d) => d.file === next).map((d) => [d.line, d.code]),
      [[2, 'not-audit-record']],
    );
    assert.match(readFileSync(junit, 'utf8'), /<failure message="not valid gzip data[^"]*" type="input-unreadable">/);
    assert.match(r.stderr, /audit-ship: .*cut\.jsonl\.gz: not valid gzip data \(unexpected end of file\)/);
  });

  it('stdin that turns out not to be text (gzip of binary data): a finding, the next file checked, exit 2', async () => {
    const binary = gzipSync(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 32)));
    const next = file('after-binary.jsonl', `${record}\n[]\n`);
    const r = await runCli(['lint', '--format', 'json', '-', next], { input: binary });
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(
      ndjson(r.stdout).map((d) => [d.file, d.line, d.code]),
      [
        ['<stdin>', 1, 'input-unreadable'],
        [next, 2, 'not-object'],
      ],
    );
    assert.match(ndjson(r.stdout)[0]!.message, /^holds binary data, not text lines/);
  });

  it('warns of every line ship would refuse (ship-rejects), and of those alone', async () => {
    const base = seedExample() as Record<string, unknown>;
    const records = [
      { Timestamp: '0001-01-01T00:00:00Z' }, // Go's zero time
      { Timestamp: '1970-01-01T00:00:00Z' },
      { Timestamp: '2106-02-07T06:28:15.999999999Z' },
      { Timestamp: '2106-02-07T06:28:16Z' },
      { Deep: nested(MAX_RECORD_DEPTH - 1) },
      { Deep: nested(MAX_RECORD_DEPTH) },
      { Timestamp: '2106-02-07T12:00:00+05:30' }, // 06:30 UTC: past the range, and not UTC
    ].map((fields) => JSON.stringify({ ...base, ...fields }));
    const input = `${records.join('\n')}\n`;
    const refused = [1, 4, 6, 7];

    const lint = await runCli(['lint', '--format', 'json'], { input });
    assert.equal(lint.code, 0, 'warnings alone do not fail a lint');
    const found = ndjson(lint.stdout);
    assert.deepEqual(
      found.filter((d) => d.code === 'ship-rejects').map((d) => [d.line, d.severity, d.field]),
      [
        [1, 'warning', 'Timestamp'],
        [4, 'warning', 'Timestamp'],
        [6, 'warning', null],
        [7, 'warning', 'Timestamp'],
      ],
    );
    assert.deepEqual(
      found.filter((d) => d.code !== 'ship-rejects').map((d) => [d.line, d.code]),
      [[7, 'non-utc-timestamp']],
    );
    assert.equal((await runCli(['lint', '--max-warnings', '4'], { input })).code, 1, 'five warnings are more than 4');

    const r = await receiver();
    const ship = await runCli(['ship', '--port', String(r.port)], { input });
    assert.equal(ship.code, EXIT.invalidNotKept, ship.stderr);
    const rejected = [...ship.stderr.matchAll(/^<stdin>:(\d+): error\b.*\[(time-out-of-range|too-deep)\]$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(rejected, refused, 'ship refuses the lines lint warned of');
    assert.equal(r.events().length, records.length - refused.length, 'and delivers the others, the deepest it takes among them');
  });

  it('hints at piping another compression format into lint, not into ship (the default command)', async () => {
    // bzip2's magic and block size: enough for the sniffing, which reads no further.
    const bz2 = file('rotated.log.1.bz2', Buffer.from('BZh91AY&SY'));
    const named = await runCli(['lint', bz2]);
    assert.equal(named.code, 2, named.stderr);
    assert.match(
      named.stderr,
      /rotated\.log\.1\.bz2: holds bzip2-compressed data, not JSON lines; decompress it first: bzip2 -dc FILE \| audit-ship lint - \(ERR_AUDIT_SHIP_NOT_TEXT\)/,
    );
    const piped = await runCli(['lint', '--format', 'json'], { input: readFileSync(bz2) });
    assert.equal(piped.code, 2, piped.stderr);
    assert.match(ndjson(piped.stdout)[0]!.message, /bzip2 -dc FILE \| audit-ship lint -$/);
    const shipped = await runCli(['ship', '--port', '1', bz2]);
    assert.equal(shipped.code, 2, shipped.stderr);
    assert.match(shipped.stderr, /bzip2 -dc FILE \| audit-ship - \(ERR_AUDIT_SHIP_NOT_TEXT\)/);
  });

  it('exits 2 for usage errors', async () => {
    assert.equal((await runCli(['lint', '--format', 'xml'])).code, 2);
    assert.equal((await runCli(['lint', '--max-errors', '-1'])).code, 2);
    assert.equal((await runCli(['lint', '--nope'])).code, 2);
  });
});

describe('audit-ship schema', () => {
  it('prints a JSON Schema on stdout', async () => {
    const r = await runCli(['schema']);
    assert.equal(r.code, 0);
    const schema = JSON.parse(r.stdout) as { required: string[]; additionalProperties: boolean };
    assert.equal(schema.required.length, 12);
    assert.equal(schema.additionalProperties, true);
    const strict = JSON.parse((await runCli(['schema', '--strict'])).stdout) as { additionalProperties: boolean };
    assert.equal(strict.additionalProperties, false);
  });
});
