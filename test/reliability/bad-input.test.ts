/**
 * The bad-input corpus (test/fixtures/bad-input.jsonl): every malformed line gets its diagnostic,
 * the run goes on, the valid neighbours are shipped, and no prototype is polluted.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit.js';
import { splitLines } from '../../src/input/lines.js';
import { judgeLine } from '../../src/schema/line.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { fixture, seedExample } from '../helpers/paths.js';
import { idOf, lines } from '../helpers/ledger.js';
import { receivers } from '../helpers/receive-cli.js';
import { jsonSummary } from '../helpers/ship-cli.js';

const receiver = receivers();
const id = (n: number) => `0a8b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c${String(n).padStart(2, '0')}`;

/** Line → what must happen to it, for test/fixtures/bad-input.jsonl. */
const EXPECTED: Record<number, string> = {
  1: 'shipped', // a valid record
  2: 'skipped', // a Go panic line: not an audit record
  3: 'not-json', // a record cut off after 150 bytes
  4: 'line-too-long', // 70 kB, over --max-line-bytes 64k
  5: 'invalid-utf8', // 0xff 0xfe in UserAgent
  6: 'not-json', // a raw NUL byte inside a string
  7: 'shipped', // an escaped NUL (\u0000) is valid JSON and a valid string
  8: 'too-deep', // an unknown field nested 5000 levels deep
  9: 'forbidden-key', // "__proto__" and "constructor.prototype" keys
  10: 'wrong-type', // ResponseStatus "200" and ResponseSize "12" as strings
  11: 'not-json', // `{"RequestID":` and nothing more
  12: 'shipped', // a valid neighbour after all of the above
  13: 'forbidden-key', // "\u005f_proto__": the same key, spelt with an escape
  14: 'shipped', // its valid neighbour
};

describe('bad input', () => {
  it('reports each malformed line with its code, ships the valid ones, and goes on', async () => {
    const r = await receiver();
    const deadLetter = join(tempDir(), 'dead.jsonl');
    const res = await runCli([
      '--port',
      String(r.port),
      '--max-line-bytes',
      '64k',
      '--dead-letter',
      deadLetter,
      '--summary',
      'json',
      fixture('bad-input.jsonl'),
    ]);
    // Every invalid line is dead-lettered, but line 4, over --max-line-bytes, without its text: not kept.
    assert.equal(res.code, EXIT.invalidNotKept, res.stderr);
    assert.match(res.stderr, /exit 5: 1 invalid line was not kept \(over --max-line-bytes/);
    const letters = readFileSync(deadLetter, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; diagnostics: { code: string }[] });
    const rejected = Object.entries(EXPECTED).filter(([, outcome]) => outcome !== 'shipped' && outcome !== 'skipped');
    assert.deepEqual(
      letters.map((l) => l.line),
      rejected.map(([line]) => Number(line)),
    );
    for (const letter of letters) {
      assert.ok(
        letter.diagnostics.some((d) => d.code === EXPECTED[letter.line]),
        `line ${letter.line}: ${JSON.stringify(letter.diagnostics)}`,
      );
      assert.match(res.stderr, new RegExp(`bad-input\\.jsonl:${letter.line}: error\\b.*\\[${EXPECTED[letter.line]}\\]`));
    }
    const shipped = r.events().map((e) => e.record.RequestID);
    assert.deepEqual(shipped, [id(0), id(4), id(8), id(10)]);
    assert.equal(r.events()[1]!.record.UserAgent, 'escaped NUL: \u0000');
    const s = jsonSummary(res.stderr);
    assert.equal(s.lines, 14);
    assert.equal(s.deadLetteredWithoutText, 1);
    assert.equal(s.recordsAcked + s.invalid + s.skipped + s.blank, s.lines);
  });

  it('ships a record with a 3 MB ResponseBody between valid neighbours', async () => {
    const r = await receiver();
    const body = 'x'.repeat(3 * 1024 * 1024);
    const record = (n: number, extra: object = {}) => JSON.stringify({ ...seedExample(), RequestID: id(n), ...extra });
    const input = [record(30), record(31, { ResponseBody: body, ResponseSize: body.length }), record(32)].join('\n');
    const res = await runCli(['--port', String(r.port)], { input });
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(
      r.events().map((e) => e.record.RequestID),
      [id(30), id(31), id(32)],
    );
    assert.equal((r.events()[1]!.record.ResponseBody as string).length, body.length);
  });

  // The last records before the garbage were lost to zlib's failing step (89 of 20,000 by hand),
  // and a re-run with --checkpoint stopped at the same place: never shipped, though `gzip -dc` reads them.
  it('ships every record of a .gz with garbage after its members, says the garbage, and keeps saying it', async () => {
    for (const workers of ['1', '2']) {
      const r = await receiver();
      const dir = tempDir();
      const records = [lines(3000, 831), lines(5, 832)];
      const path = join(dir, 'audit.log.gz');
      writeFileSync(path, Buffer.concat([...records.map((part) => gzipSync(part.join(''))), Buffer.from('garbage\n')]));
      const other = join(dir, 'other.log');
      writeFileSync(other, lines(7, 833).join(''));
      const args = ['--port', String(r.port), '--workers', workers, '--checkpoint', join(dir, 'cp.json'), path, other];
      const first = await runCli(args);
      assert.equal(first.code, EXIT.inputUnread, first.stderr);
      assert.match(first.stderr, /audit\.log\.gz: not valid gzip data \(incorrect header check\)/);
      const expected = [...records.flat(), ...lines(7, 833)].map(idOf).sort();
      assert.deepEqual(r.requestIds().sort(), expected, `--workers ${workers}: each record once`);
      const again = await runCli(args);
      assert.equal(again.code, EXIT.inputUnread, 'the garbage is still there');
      assert.equal(r.requestIds().length, expected.length, 'and nothing is shipped twice');
    }
  });

  // stdin cannot be read twice: the file's cure (decode again up to the failure) was not open to
  // it, and `cat audit.log.gz | audit-ship` lost the last 89 of 20,000 records before the garbage.
  it('ships every record of a .gz on stdin with garbage after its members, piped or redirected', async () => {
    const records = [lines(3000, 835), lines(5, 836)];
    const gz = Buffer.concat([...records.map((part) => gzipSync(part.join(''))), Buffer.from('garbage\n')]);
    const path = join(tempDir(), 'audit.log.gz');
    writeFileSync(path, gz);
    for (const how of ['piped', 'redirected'] as const) {
      const r = await receiver();
      const fd = how === 'redirected' ? openSync(path, 'r') : undefined;
      const res = await runCli(['--port', String(r.port)], fd === undefined ? { input: gz } : { stdinFd: fd });
      if (fd !== undefined) closeSync(fd);
      assert.equal(res.code, EXIT.inputUnread, res.stderr);
      assert.match(res.stderr, /<stdin>: not valid gzip data \(incorrect header check\)/);
      assert.deepEqual(r.requestIds(), records.flat().map(idOf), `${how}: every record, in order`);
    }
  });

  // Whole in its first 4 KiB, such a file was refused before a line was read (exit 2): the
  // decoded start, which tells text from other data, failed with the garbage.
  it('ships a small .gz that ends in garbage up to it, as a large one', async () => {
    const r = await receiver();
    const path = join(tempDir(), 'audit.log.gz');
    const records = lines(5, 834);
    writeFileSync(path, Buffer.concat([gzipSync(records.join('')), Buffer.from('garbage\n')]));
    const res = await runCli(['--port', String(r.port), path]);
    assert.equal(res.code, EXIT.inputUnread, res.stderr);
    assert.match(
      res.stderr,
      /audit\.log\.gz: not valid gzip data \(incorrect header check\), before input byte \d+; its first 5 lines were read/,
    );
    assert.deepEqual(r.requestIds(), records.map(idOf));
  });

  // A crash while the log is appended to leaves its last blocks zeroed, cut mid-line; the writer,
  // restarted, appends after the zeros. The first record after them was read as part of the cut
  // one's line (exit 5, both lost), or, where the zeros began a line, skipped as an application
  // log (exit 0); zeros in the first 4 KiB made the whole file "binary data" (exit 2).
  it('ships the records written after the zeros a crash left, and reports the one it cut', async () => {
    const r = await receiver();
    const dir = tempDir();
    const records = lines(6, 835);
    const cut = join(dir, 'cut.log');
    writeFileSync(
      cut,
      Buffer.concat([Buffer.from(records[0]! + records[1]!.slice(0, 300)), Buffer.alloc(4096), Buffer.from(records.slice(2).join(''))]),
    );
    const res = await runCli(['--port', String(r.port), cut]);
    assert.equal(res.code, EXIT.invalidNotKept, res.stderr);
    assert.match(
      res.stderr,
      /cut\.log:2: 4096 NUL bytes of zero padding dropped \(as a crash can leave; what it replaced is gone\); the 2 parts around it are judged as lines of their own/,
    );
    assert.match(res.stderr, /cut\.log:2: error: not valid JSON/);
    assert.match(res.stderr, /6 lines read: 5 valid, 1 invalid/);
    assert.deepEqual(r.requestIds(), [records[0]!, ...records.slice(2)].map(idOf));

    const whole = join(dir, 'whole.log');
    writeFileSync(whole, Buffer.concat([Buffer.from(records[0]!), Buffer.alloc(4096), Buffer.from(records.slice(1).join(''))]));
    const res2 = await runCli(['--port', String(r.port), whole]);
    assert.equal(res2.code, EXIT.ok, res2.stderr);
    assert.equal(r.requestIds().length, 5 + 6);
    const lint = await runCli(['lint', cut]);
    assert.equal(lint.code, 1, lint.stderr);
    assert.match(
      lint.stdout,
      /cut\.log:2: warning: 4096 NUL bytes of zero padding dropped .*\[nul-padding\]\n\S*cut\.log:2: error: not valid JSON/,
    );
  });

  // A crash can zero more than the longest line allowed (megabytes of dirty pages): the line the
  // zeros made was over the limit, and the record written after them was lost with it (exit 5).
  it('ships the record after zeros longer than the line limit', async () => {
    const r = await receiver();
    const records = lines(4, 838);
    const path = join(tempDir(), 'audit.log');
    writeFileSync(
      path,
      Buffer.concat([Buffer.from(records[0]! + records[1]!.slice(0, 200)), Buffer.alloc(1 << 20), Buffer.from(records.slice(2).join(''))]),
    );
    const res = await runCli(['--port', String(r.port), '--max-line-bytes', '64k', '--max-invalid', '1', path]);
    assert.equal(res.code, EXIT.ok, res.stderr);
    assert.match(
      res.stderr,
      /audit\.log:2: 1048576 NUL bytes of zero padding dropped .*; the 2 parts around it are judged as lines of their own/,
    );
    assert.match(res.stderr, /audit\.log:2: error: not valid JSON/);
    assert.deepEqual(r.requestIds(), [records[0]!, ...records.slice(2)].map(idOf));
  });

  // A crash that zeroed a file's first blocks (its first 4 KiB and more) left nothing but NULs
  // where its kind is judged: the whole file was refused as binary data (exit 2), with the records
  // its writer appended after its restart, and so was its .gz once rotated. A device of NULs
  // (/dev/zero) gives them for ever, and is still refused at its first bytes.
  it('ships the records after the zeros a crash left at the start of a file, plain, .gz, piped or redirected', async () => {
    const dir = tempDir();
    const records = lines(40, 837);
    const text = Buffer.concat([Buffer.alloc(3 * 4096), Buffer.from(records.join(''))]);
    const plain = join(dir, 'audit.log');
    writeFileSync(plain, text);
    writeFileSync(join(dir, 'audit.log.1.gz'), gzipSync(text));
    for (const [how, args, options] of [
      ['named', [plain, join(dir, 'audit.log.1.gz')], {}],
      ['piped', [], { input: text }],
      ['redirected', [], { stdinFd: openSync(plain, 'r') }],
    ] as const) {
      const r = await receiver();
      const res = await runCli(['--port', String(r.port), ...args], options);
      if ('stdinFd' in options) closeSync(options.stdinFd);
      assert.equal(res.code, EXIT.ok, `${how}: ${res.stderr}`);
      assert.match(res.stderr, /:1: 12288 NUL bytes of zero padding dropped \(as a crash can leave; what it replaced is gone\)/);
      const times = how === 'named' ? 2 : 1;
      assert.deepEqual(r.requestIds(), Array.from({ length: times }, () => records.map(idOf)).flat(), `${how}: every record, in order`);
    }
    const binary = join(dir, 'image.bin');
    writeFileSync(binary, Buffer.concat([Buffer.alloc(8192), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 32))]));
    const refused = await runCli(['lint', binary]);
    assert.equal(refused.code, EXIT.usage, refused.stderr);
    assert.match(refused.stderr, /image\.bin: holds binary data, not text lines/, 'judged by its bytes after the zeros');
    const device = await runCli(['lint'], { stdinFd: openSync('/dev/zero', 'r') });
    assert.equal(device.code, EXIT.usage, device.stderr);
    assert.match(device.stderr, /<stdin>: holds nothing but NUL bytes \(a device, not a log\)/);
  });

  // The container runtime's log files (/var/log/pods/…): each line behind a time, a stream and a
  // tag, a line over 16 KiB in parts. Read as application logs, every record was skipped, exit 0.
  it('ships the records of a container runtime log file, a split one joined', async () => {
    const r = await receiver();
    const dir = tempDir();
    const records = lines(4, 836).map((l) => l.trimEnd());
    const ts = '2021-09-22T12:18:19.269456495Z';
    const parts = (l: string) => [l.slice(0, 300), l.slice(300, 700), l.slice(700)];
    const text = [
      `${ts} stdout F ${records[0]}`,
      `${ts} stderr F I0922 12:18:19.270 server.go:42] an application log`,
      ...parts(records[1]!).map((p, i, all) => `${ts} stdout ${i < all.length - 1 ? 'P' : 'F'} ${p}`),
      `${ts} stdout F ${records[2]}`,
      `${ts} stdout P ${records[3]!.slice(0, 500)}`,
    ].join('\n');
    const path = join(dir, '0.log');
    writeFileSync(path, `${text}\n`);
    const res = await runCli(['--port', String(r.port), path]);
    assert.equal(res.code, EXIT.invalidNotKept, res.stderr);
    assert.deepEqual(r.requestIds(), records.slice(0, 3).map(idOf));
    assert.match(res.stderr, /0\.log:7: error: not valid JSON/, 'the last record, its last part never written');
    assert.match(res.stderr, /5 lines read: 3 valid, 1 invalid, 1 skipped/);
    const lint = await runCli(['lint', '--mixed', path]);
    assert.match(lint.stderr, /5 lines read: 3 valid, 1 invalid, 1 skipped/);
  });

  // Docker's json-file driver wraps each line in {"log": …}: every record was skipped as another
  // program's JSON, exit 0.
  it('ships the records of a Docker json-file log, a split one joined', async () => {
    const r = await receiver();
    const records = lines(3, 837).map((l) => l.trimEnd());
    const entry = (log: string) => JSON.stringify({ log, stream: 'stdout', time: '2021-09-22T12:18:19.269456495Z' });
    const path = join(tempDir(), 'c0ffee-json.log');
    const split = [records[1]!.slice(0, 500), records[1]!.slice(500)];
    writeFileSync(path, [entry(`${records[0]}\n`), entry(split[0]!), entry(`${split[1]}\n`), entry(`${records[2]}\n`)].join('\n') + '\n');
    const res = await runCli(['--port', String(r.port), path]);
    assert.equal(res.code, EXIT.ok, res.stderr);
    assert.deepEqual(r.requestIds(), records.map(idOf));
    assert.match(res.stderr, /3 lines read: 3 valid/);
    const lint = await runCli(['lint', path]);
    assert.equal(lint.code, EXIT.ok, lint.stdout);
  });

  // A logfmt file (records behind `level=info msg=`), a format audit-ship does not read: every line
  // was skipped as another program's log and the run ended "complete", exit 0, having said nothing of it.
  it('says so when no line read is an audit record, unless --quiet', async () => {
    const r = await receiver();
    const path = join(tempDir(), 'logfmt.log');
    writeFileSync(
      path,
      lines(3, 838)
        .map((l) => `ts=2021-09-22T12:18:19Z level=info audit=${l}`)
        .join(''),
    );
    const res = await runCli(['--port', String(r.port), path]);
    assert.equal(res.code, EXIT.ok, res.stderr);
    assert.match(
      res.stderr,
      /audit-ship: warning: none of the 3 lines read is an audit record \(skipped as another program's log\): are these the audit logs\?/,
    );
    const quiet = await runCli(['--port', String(r.port), '--quiet', path]);
    assert.equal(quiet.stderr, '');
    const mixed = await runCli(['--port', String(r.port)], { input: `I0922 an application log\n${lines(1, 839).join('')}` });
    assert.doesNotMatch(mixed.stderr, /warning: /);
  });

  // rsyslog keeps a VM's program output as `Sep 22 12:18:19 HOST TAG: LINE` (or with an RFC 3339
  // time, its high-precision format): every record was skipped as another program's log, exit 0.
  it('ships the records of a syslog file, its time, host and tag read as a prefix', async () => {
    const r = await receiver();
    const records = lines(3, 842);
    const path = join(tempDir(), 'syslog');
    const prefixes = [
      'Sep 22 12:18:19 node-1 seldon-deploy[4711]: ',
      'Sep  2 02:18:19 node-1 seldon-deploy: ',
      '2021-09-22T12:18:19.269456+00:00 node-1 seldon-deploy[4711]: ',
    ];
    writeFileSync(path, `Sep 22 12:18:19 node-1 systemd[1]: Started seldon-deploy.\n${records.map((l, i) => prefixes[i] + l).join('')}`);
    const res = await runCli(['--port', String(r.port), path]);
    assert.equal(res.code, EXIT.ok, res.stderr);
    assert.deepEqual(r.requestIds(), records.map(idOf));
    assert.match(res.stderr, /4 lines read: 3 valid, 0 invalid, 1 skipped/);
  });

  // Fluentd's out_file writes `TIME<TAB>TAG<TAB>RECORD` by default: an archive of it re-shipped was
  // skipped line by line as application logs.
  it('ships the records of a Fluentd out_file archive, its time and tag read as a prefix', async () => {
    const r = await receiver();
    const records = lines(3, 840);
    const path = join(tempDir(), 'audit.20210922.log');
    const text = records.map((l) => `2021-09-22T12:18:19+00:00\tdeploy_audit.audit_ship\t${l}`).join('');
    writeFileSync(path, `2021-09-22T12:18:19+00:00\tfluent.info\t{"message":"fluentd worker is now running worker=0"}\n${text}`);
    const res = await runCli(['--port', String(r.port), path]);
    assert.equal(res.code, EXIT.ok, res.stderr);
    assert.deepEqual(r.requestIds(), records.map(idOf));
    assert.match(res.stderr, /4 lines read: 3 valid, 0 invalid, 1 skipped/);
  });

  // What a demo's or a test's receiver caught (`receive --out`), shipped on to a real Fluentd: every
  // line was skipped as another program's log, "complete", exit 0, nothing sent.
  it('ships and lints the events `receive --out` wrote, each as the record it holds', async () => {
    const records = lines(3, 841);
    const caught = join(tempDir(), 'events.jsonl');
    const first = await receiver(['--out', caught]);
    assert.equal((await runCli(['--port', String(first.port)], { input: records.join('') })).code, EXIT.ok);
    const r = await receiver();
    const res = await runCli(['--port', String(r.port), caught]);
    assert.equal(res.code, EXIT.ok, res.stderr);
    assert.deepEqual(r.requestIds(), records.map(idOf));
    assert.deepEqual(
      r.events().map((e) => e.record),
      records.map((l) => JSON.parse(l) as unknown),
      'each record as it was first shipped',
    );
    const bad = readFileSync(caught, 'utf8').replace(/"ResponseStatus":\d+/, '"ResponseStatus":"200"');
    const linted = await runCli(['lint', '--format', 'json', '-'], { input: bad });
    assert.equal(linted.code, 1, linted.stderr);
    const findings = linted.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; code: string; field: string });
    assert.deepEqual(
      findings.map((f) => [f.line, f.code, f.field]),
      [[1, 'wrong-type', 'ResponseStatus']],
    );
  });

  // A key written twice passed lint in silence: only its last value is read, the first is gone.
  it('ships the last value of a key written twice, and lint warns of the key', async () => {
    const good = JSON.stringify({ ...seedExample(), RequestID: id(40) });
    const input = `${good.replace('{', '{"Method":"DELETE",')}\n${JSON.stringify({ ...seedExample(), RequestID: id(41) })}\n`;
    const r = await receiver();
    const res = await runCli(['--port', String(r.port)], { input });
    assert.equal(res.code, EXIT.ok, res.stderr);
    assert.deepEqual(
      r.events().map((e) => [e.record.RequestID, e.record.Method]),
      [
        [id(40), seedExample().Method],
        [id(41), seedExample().Method],
      ],
    );
    const linted = await runCli(['lint', '--max-warnings', '0', '-'], { input });
    assert.equal(linted.code, 1, linted.stderr);
    assert.match(
      linted.stdout,
      /^<stdin>:1: warning Method: the key appears 2 times in its object: only its last value is checked and shipped \[duplicate-key\]$/m,
    );
    assert.doesNotMatch(linted.stdout, /^<stdin>:2:/m);
  });

  it('pollutes no prototype while judging the corpus', async () => {
    const data = readFileSync(fixture('bad-input.jsonl'));
    async function* once() {
      yield data;
    }
    for await (const batch of splitLines(once(), { maxLineBytes: 64 * 1024 })) {
      for (const line of batch) judgeLine(line, { mixed: true, strict: false, maxLineBytes: 64 * 1024 });
    }
    assert.equal(({} as { polluted?: string }).polluted, undefined);
    assert.equal((Object.prototype as { polluted?: string }).polluted, undefined);
  });
});
