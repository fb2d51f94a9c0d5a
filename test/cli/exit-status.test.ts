/**
 * The exit-status contract (src/cli/exit.ts), one case per row, each on the built CLI: a script
 * that runs `audit-ship FILES && rm FILES` must never delete what was not delivered.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { EXIT } from '../../src/cli/exit.js';
import { cliEnv, runCli, tempDir } from '../helpers/cli.js';
import { busyPort, freePort } from '../helpers/net.js';
import { Ledger, withForbiddenKeys } from '../helpers/ledger.js';
import { CLI, fixture, readCases, ROOT, seedExample } from '../helpers/paths.js';
import { receivers, startReceiveCli } from '../helpers/receive-cli.js';
import { jsonSummary, scrapeUntil, startMeteredShip, startShip, waitFor, SMALL_DROPPING_SPOOL } from '../helpers/ship-cli.js';

const receiver = receivers();
const idsOf = (events: { record: Record<string, unknown> }[]) => events.map((e) => e.record.RequestID as string);

describe('exit 0 and gzip recognised by its bytes', () => {
  it('ships gzip on stdin, and several gzip members in a row', async () => {
    const r = await receiver();
    const a = new Ledger(60, 1201);
    const b = new Ledger(40, 1202);
    const input = Buffer.concat([gzipSync(a.text()), gzipSync(b.text())]);
    const res = await runCli(['--port', String(r.port), '--summary', 'json', '-'], { input });
    assert.equal(res.code, EXIT.ok, res.stderr);
    assert.equal(jsonSummary(res.stderr).invalid, 0);
    assert.deepEqual(idsOf(r.events()), [...a.ids, ...b.ids]);
    assert.match(res.stderr, /complete: every input read to its end, every valid record acked/);
  });

  it('ships a gzip file whatever its name', async () => {
    const r = await receiver();
    const ledger = new Ledger(50, 1203);
    const file = join(tempDir(), 'audit-log-2024-03');
    writeFileSync(file, gzipSync(ledger.text()));
    const res = await runCli(['--port', String(r.port), file]);
    assert.equal(res.code, EXIT.ok, res.stderr);
    ledger.assertComplete(idsOf(r.events()));
  });
});

describe('exit 4: input not fully read', () => {
  it('a truncated gzip: names the file and the offset, and ships and counts what came before it', async () => {
    const r = await receiver();
    const ledger = new Ledger(400, 1204);
    const whole = gzipSync(ledger.text());
    // A name with an escape sequence in it is named escaped, not played on the terminal.
    const file = join(tempDir(), 'cut\u001b[31m.jsonl.gz');
    writeFileSync(file, whole.subarray(0, Math.floor(whole.length / 2)));
    const res = await runCli(['--port', String(r.port), '--summary', 'json', file]);
    assert.equal(res.code, EXIT.inputUnread, res.stderr);
    const s = jsonSummary(res.stderr);
    assert.match(
      res.stderr,
      new RegExp(
        `exit 4: input not fully read: .*cut\\\\u001b\\[31m\\.jsonl\\.gz: not valid gzip data \\(unexpected end of file\\), before input byte ${whole.length >> 1}; its first ${s.lines} lines were read`,
      ),
    );
    assert.ok(!res.stderr.includes('\u001b'), res.stderr);
    assert.ok(s.lines! > 0 && s.lines! < 400);
    assert.equal(s.recordsAcked! + s.invalid!, s.lines, 'every line read is accounted for');
    assert.equal(s.exitCode, EXIT.inputUnread);
    assert.ok(res.stderr.trim().split('\n').pop()!.startsWith('{'), 'the JSON summary is the last line, for scripts');
    assert.deepEqual(idsOf(r.events()), ledger.ids.slice(0, s.recordsAcked));
  });

  // A damaged archive once stopped the run: every later file "not reached", and with --checkpoint
  // every re-run stopped at the same fault, so a backfill never got past it.
  for (const workers of ['1', '2']) {
    it(`a gzip cut partway between files, --workers ${workers}: the files after it are shipped, the cut one named, exit 4`, async () => {
      const r = await receiver();
      const dir = tempDir();
      const before = new Ledger(300, 1230);
      const cut = new Ledger(400, 1231);
      const after = new Ledger(200, 1232);
      const whole = gzipSync(cut.text());
      const files = [join(dir, 'a.jsonl'), join(dir, 'b.jsonl.gz'), join(dir, 'c.jsonl')] as const;
      writeFileSync(files[0], before.text());
      writeFileSync(files[1], whole.subarray(0, whole.length >> 1));
      writeFileSync(files[2], after.text());
      const args = ['--port', String(r.port), '--workers', workers, '--summary', 'json', '--checkpoint', join(dir, 'cp.json'), ...files];
      const res = await runCli(args);
      assert.equal(res.code, EXIT.inputUnread, res.stderr);
      const s = jsonSummary(res.stderr);
      const cutRead = s.lines! - 500;
      assert.ok(cutRead > 0 && cutRead < 400, `the lines before the cut are read (${cutRead})`);
      assert.match(
        res.stderr,
        /exit 4: input not fully read: .*b\.jsonl\.gz: not valid gzip data \(unexpected end of file\)[^\n]*; run the same command again/,
      );
      assert.doesNotMatch(res.stderr, /not reached/);
      assert.equal(s.filesFailed, 1);
      const ids = new Set(idsOf(r.events()));
      assert.equal(ids.size, 500 + cutRead);
      for (const id of [...before.ids, ...after.ids, ...cut.ids.slice(0, cutRead)]) assert.ok(ids.has(id), id);

      // The re-run resumes the cut file at its fault, and sends nothing twice.
      const again = await runCli(args);
      assert.equal(again.code, EXIT.inputUnread, again.stderr);
      assert.equal(jsonSummary(again.stderr).filesAlreadyShipped, 2);
      assert.equal(r.events().length, 500 + cutRead);
    });
  }

  it('a file left at its fault is counted in the metrics while the run goes on', async () => {
    const r = await receiver();
    const cut = new Ledger(400, 1233);
    const whole = gzipSync(cut.text());
    const file = join(tempDir(), 'cut.jsonl.gz');
    writeFileSync(file, whole.subarray(0, whole.length >> 1));
    const rest = new Ledger(20, 1234);
    const ship = await startMeteredShip(['--port', String(r.port), '--flush-interval', '50ms', file, '-']);
    ship.child.stdin!.write(rest.text());
    await scrapeUntil(ship, (m) => m.get('audit_ship_input_files_failed_total') === 1, 'the failed file in the metrics');
    await waitFor(() => rest.ids.every((id) => idsOf(r.events()).includes(id)), 'stdin, read after the failed file, to be shipped');
    assert.equal(await ship.exit(), EXIT.inputUnread, ship.stderr());
    const s = jsonSummary(ship.stderr());
    assert.equal(s.filesFailed, 1);
    assert.match(ship.stderr(), /exit 4: input not fully read: .*cut\.jsonl\.gz: not valid gzip data/);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} partway through a file: exit 4 without --checkpoint; with one, the same command resumes to exit 0`, async () => {
      const r = await receiver();
      const dir = tempDir();
      const ledger = new Ledger(6000, signal === 'SIGINT' ? 1205 : 1206);
      const file = join(dir, 'backfill.jsonl');
      writeFileSync(file, ledger.text());
      const plain = startShip(['--port', String(r.port), '--rate', '2000', '--chunk-records', '200', file]);
      await waitFor(() => r.events().length >= 400, 'some records to arrive');
      assert.equal(await plain.exit(signal), EXIT.inputUnread, plain.stderr());
      assert.match(plain.stderr(), new RegExp(`input not fully read: .*backfill\\.jsonl: stopped by ${signal}; no --checkpoint was given`));

      const args = ['--port', String(r.port), '--rate', '2000', '--chunk-records', '200', '--checkpoint', join(dir, 'cp.json'), file];
      const before = r.events().length;
      const first = startShip(args);
      await waitFor(() => r.events().length >= before + 400, 'the checkpointed run to make progress');
      assert.equal(await first.exit(signal), EXIT.inputUnread, first.stderr());
      assert.match(first.stderr(), /run the same command again to resume from the checkpoint/);
      const rest = await runCli([...args.filter((a) => a !== '--rate' && a !== '2000')]);
      assert.equal(rest.code, EXIT.ok, rest.stderr);
      ledger.assertComplete(idsOf(r.events()).slice(before));
    });
  }

  it('SIGHUP (the terminal closes) stops a live stdin like SIGTERM: what was read is shipped, exit 4', async () => {
    const r = await receiver();
    const ledger = new Ledger(50, 1214);
    const ship = startShip(['--port', String(r.port), '--flush-interval', '50ms', '--summary', 'json']);
    ship.child.stdin!.write(ledger.text());
    await waitFor(() => r.events().length === 50, 'the records written so far to arrive');
    assert.equal(await ship.exit('SIGHUP'), EXIT.inputUnread, ship.stderr());
    assert.match(ship.stderr(), /exit 4: input not fully read: <stdin>: stopped by SIGHUP; the rest of stdin was not read/);
    const s = jsonSummary(ship.stderr());
    assert.equal(s.recordsAcked, 50);
    assert.equal(s.leftInSpool, 0);
  });

  it('reads a FIFO as a stream, gzip recognised by its bytes', async () => {
    const r = await receiver();
    const ledger = new Ledger(80, 1215);
    const fifo = join(tempDir(), 'logs.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const writer = spawn('sh', ['-c', `cat > "${fifo}"`], { stdio: ['pipe', 'ignore', 'ignore'] });
    writer.stdin.end(gzipSync(ledger.text()));
    const res = await runCli(['--port', String(r.port), fifo]);
    assert.equal(res.code, EXIT.ok, res.stderr);
    assert.deepEqual(idsOf(r.events()), ledger.ids);
  });

  it('stdin that is not text (zstd) stops at once with a hint, instead of thousands of invalid lines', async () => {
    const res = await runCli(['--port', '1', '--summary', 'json', '-'], {
      input: Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(5000, 7)]),
    });
    assert.equal(res.code, EXIT.inputUnread, res.stderr);
    assert.match(res.stderr, /<stdin>: holds zstd-compressed data, not JSON lines; decompress it first: zstd -dc/);
    assert.equal(jsonSummary(res.stderr).invalid, 0);
  });
});

describe('exit 5 and 0: invalid lines kept or not', () => {
  const invalid = readCases('records-invalid.jsonl')
    .map((c) => `${JSON.stringify(c.record)}\n`)
    .join('');
  const count = invalid.trim().split('\n').length;

  it('every line invalid and no --dead-letter: exit 5, saying how many were not kept', async () => {
    const res = await runCli(['--port', '1', '-'], { input: invalid });
    assert.equal(res.code, EXIT.invalidNotKept, res.stderr);
    assert.match(res.stderr, new RegExp(`exit 5: ${count} invalid lines were not kept \\(no --dead-letter; --max-invalid allows 0\\)`));
  });

  // A record over --max-line-bytes streams past unheld: its letter cannot hold it. From stdin it was
  // gone, and the run said "kept in --dead-letter", exit 0.
  it('a line over --max-line-bytes, dead-lettered without its text: not kept, exit 5, with what to do', async () => {
    const deadLetter = join(tempDir(), 'dead.jsonl');
    const long = `${JSON.stringify({ ...seedExample(), ResponseBody: 'x'.repeat(10_000) })}\n`;
    const args = ['--port', '1', '--max-line-bytes', '8k', '--dead-letter', deadLetter, '-'];
    const res = await runCli(args, { input: invalid + long });
    assert.equal(res.code, EXIT.invalidNotKept, res.stderr);
    assert.match(
      res.stderr,
      new RegExp(
        `exit 5: 1 invalid line was not kept \\(over --max-line-bytes, whose dead letter says where it was but cannot hold its text: ` +
          `raise --max-line-bytes to ship or keep it; --max-invalid allows 0\\)`,
      ),
    );
    const letters = readFileSync(deadLetter, 'utf8').trim().split('\n');
    assert.equal(letters.length, count + 1, 'its letter is still written, with where it was');
    assert.equal((JSON.parse(letters.at(-1)!) as { raw?: string }).raw, undefined);
    assert.equal(jsonSummary((await runCli([...args, '--summary', 'json'], { input: long })).stderr).deadLetteredWithoutText, 1);
    const allowed = await runCli([...args.slice(0, -1), '--max-invalid', '1', '-'], { input: long });
    assert.equal(allowed.code, EXIT.ok, 'within --max-invalid, as any unkept line');
  });

  // A backfill over a schema change printed a dozen lines of stderr for each of millions of lines.
  it('prints the diagnostics of the first 100 invalid lines, then says the rest are counted, not printed', async () => {
    const many = '{"RequestID":"x"}\n'.repeat(150);
    const res = await runCli(['--port', '1', '--summary', 'json', '-'], { input: many });
    assert.equal(res.code, EXIT.invalidNotKept, res.stderr);
    const printed = new Set([...res.stderr.matchAll(/^<stdin>:(\d+): error/gm)].map((m) => Number(m[1])));
    assert.deepEqual(
      [...printed],
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    assert.equal(res.stderr.match(/more invalid lines than the 100 printed/g)?.length, 1);
    assert.match(res.stderr, /run `audit-ship lint` on the input to list them/);
    assert.equal(jsonSummary(res.stderr).invalid, 150, 'every one counted');
    const kept = join(tempDir(), 'dead.jsonl');
    const lettered = await runCli(['--port', '1', '--dead-letter', kept, '-'], { input: many });
    assert.match(lettered.stderr, new RegExp(`--dead-letter ${kept} keeps them`));
    assert.equal(readFileSync(kept, 'utf8').trim().split('\n').length, 150);
  });

  // One line with a forbidden key in each of 5,000 nested objects printed 5,000 lines of stderr.
  it("prints 20 of an invalid line's findings, then says how many more there are", async () => {
    const input = `${withForbiddenKeys(5000)}\n`;
    const kept = join(tempDir(), 'dead.jsonl');
    const res = await runCli(['--port', '1', '--dead-letter', kept, '-'], { input });
    assert.equal(res.code, EXIT.ok, res.stderr);
    assert.deepEqual(
      [...res.stderr.matchAll(/^<stdin>:1: error (\S+): /gm)].map((m) => m[1]),
      Array.from({ length: 20 }, (_, i) => `k${i}.__proto__`),
    );
    assert.match(
      res.stderr,
      new RegExp(`^<stdin>:1: and 4,980 more findings on this line, not printed: --dead-letter ${kept} keeps them$`, 'm'),
    );
    const letter = JSON.parse(readFileSync(kept, 'utf8')) as { diagnostics: unknown[] };
    assert.equal(letter.diagnostics.length, 5000, 'every finding kept');
  });

  it('every line invalid, kept by --dead-letter: exit 0', async () => {
    const deadLetter = join(tempDir(), 'dead.jsonl');
    const res = await runCli(['--port', '1', '--dead-letter', deadLetter, '-'], { input: invalid });
    assert.equal(res.code, EXIT.ok, res.stderr);
    assert.equal(readFileSync(deadLetter, 'utf8').trim().split('\n').length, count);
    assert.match(res.stderr, new RegExp(`the ${count} invalid lines kept in --dead-letter`));
    const one = await runCli(['--port', '1', '--dead-letter', join(tempDir(), 'one.jsonl'), '-'], { input: invalid.split('\n')[0] });
    assert.equal(one.code, EXIT.ok, one.stderr);
    // Port 1 refuses at once: whether that came before the input ended decides how the end reads.
    assert.match(
      one.stderr,
      /complete: every input read to its end, (every valid record acked|no record to send) \(the invalid line kept in --dead-letter\)/,
    );
  });

  it('nothing to send and no server reached: exit 0, and the end says why the "retrying" notes did not matter', async () => {
    const port = await freePort();
    const ship = startShip(['--port', String(port)]);
    ship.child.stdin!.write('{"level":"info","msg":"not an audit record"}\n');
    await waitFor(() => /; retrying\n/.test(ship.stderr()), 'the first connect error');
    assert.equal(await ship.exit(), EXIT.ok, ship.stderr());
    const last = ship.stderr().trim().split('\n').pop();
    assert.equal(
      last,
      `audit-ship: complete: every input read to its end, no record to send, and no server was reached (the last try: cannot connect to 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port})`,
    );
  });

  it('a server down at first and reached later: the end says every record acked, not that none was reached', async () => {
    const port = await freePort();
    const ship = startShip(['--port', String(port), '--flush-interval', '50ms']);
    await waitFor(() => /; retrying\n/.test(ship.stderr()), 'the first connect error');
    const r = await receiver(['--port', String(port)]);
    const ledger = new Ledger(5, 1215);
    ship.child.stdin!.write(ledger.text());
    await waitFor(() => r.events().length === 5, 'the records to arrive once the server is up');
    assert.equal(await ship.exit(), EXIT.ok, ship.stderr());
    assert.match(ship.stderr(), /complete: every input read to its end, every valid record acked\n$/);
  });

  it('--max-invalid accepts a count or a share of the records read, and no more', async () => {
    const r = await receiver();
    const good = new Ledger(90, 1207).text();
    const input = `${good}${invalid.split('\n').slice(0, 10).join('\n')}\n`;
    assert.equal((await runCli(['--port', String(r.port), '--max-invalid', '10', '-'], { input })).code, EXIT.ok);
    assert.equal((await runCli(['--port', String(r.port), '--max-invalid', '9', '-'], { input })).code, EXIT.invalidNotKept);
    assert.equal((await runCli(['--port', String(r.port), '--max-invalid', '10%', '-'], { input })).code, EXIT.ok);
    assert.equal((await runCli(['--port', String(r.port), '--max-invalid', '9.9%', '-'], { input })).code, EXIT.invalidNotKept);
    assert.equal((await runCli(['--port', String(r.port), '--max-invalid', 'some', '-'], { input })).code, EXIT.usage);
  });
});

describe('exit 3: a finite input never waits for ever', () => {
  it('with default options, gives up when nothing acks for 2 minutes and keeps every record in the spool', async () => {
    const ledger = new Ledger(30, 1208);
    const file = join(tempDir(), 'in.jsonl');
    writeFileSync(file, ledger.text());
    const spoolDir = join(tempDir(), 'spool');
    const res = await runCli(['--port', String(await freePort()), '--spool-dir', spoolDir, '--summary', 'json', file]);
    assert.equal(res.code, EXIT.leftInSpool, res.stderr);
    assert.match(res.stderr, /gave up: nothing could be delivered for 2 min \(--retry-timeout\)/);
    assert.match(res.stderr, /exit 3: 30 records were not acked and stay in the spool/);
    assert.equal(jsonSummary(res.stderr).leftInSpool, 30);
  });
});

describe('exit 6: records dropped from a full spool', () => {
  it('under --spool-overflow drop-oldest, delivers the rest but says that some were dropped', async () => {
    const port = await freePort();
    const ledger = new Ledger(400, 1213);
    const ship = await startMeteredShip(['--port', String(port), ...SMALL_DROPPING_SPOOL]);
    ship.child.stdin!.end(ledger.text());
    for (let m = await ship.scrape(); m.get('audit_ship_lines_read_total') !== 400; m = await ship.scrape()) {
      await new Promise((resolve) => setTimeout(resolve, 20)); // until all of stdin is in the (full) spool
    }
    const r = await startReceiveCli(['--port', String(port)]);
    try {
      const code = await ship.exit();
      const s = jsonSummary(ship.stderr());
      assert.ok(s.dropped! > 0, 'some records were dropped');
      assert.equal(code, EXIT.dropped, ship.stderr());
      assert.match(ship.stderr(), new RegExp(`exit 6: ${s.dropped} records? (was|were) dropped unsent from the full spool`));
      assert.equal(r.events().length + s.dropped!, 400, 'the rest were delivered');
    } finally {
      await r.stop();
    }
  });
});

describe('exit 2: usage errors never reach the data', () => {
  /** Runs the CLI with `file` on stdin, then `cat`: whatever audit-ship did not read, cat prints. */
  function leftOnStdin(args: string[], file: string, env: NodeJS.ProcessEnv = {}): { code: number; rest: string; stderr: string } {
    const script = `"${process.execPath}" "${CLI}" "$@"; code=$?; cat; exit $code`;
    const res = spawnSync('sh', ['-c', script, 'sh', ...args], {
      input: readFileSync(file),
      env: { ...process.env, NO_COLOR: '1', AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool'), ...env },
    });
    return { code: res.status!, rest: res.stdout.toString(), stderr: res.stderr.toString() };
  }

  const file = join(tempDir(), 'waiting.jsonl');
  writeFileSync(file, new Ledger(5, 1209).text());

  // `audit-ship < logs/` read nothing and ended "complete: every input read to its end", exit 0.
  it('a directory on stdin: exit 2 with a hint, for ship and lint', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'audit.log'), new Ledger(3, 1210).text());
    for (const args of [['--port', '1'], ['lint']]) {
      const stdin = openSync(dir, 'r');
      const res = spawnSync(process.execPath, [CLI, ...args], {
        stdio: [stdin, 'pipe', 'pipe'],
        env: cliEnv({ AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool') }),
      });
      closeSync(stdin);
      assert.equal(res.status, EXIT.usage, res.stderr.toString());
      assert.match(
        res.stderr.toString(),
        /stdin is a directory \(`< DIR`\): name the directory as an input instead, and the logs under it are read \(ERR_AUDIT_SHIP_INPUT\)/,
      );
    }
  });

  for (const [what, args, message] of [
    [
      '--chunk-bytes 100g',
      ['--chunk-bytes', '100g'],
      /--chunk-bytes <size>' argument '100g' is invalid\. expected a size from 1k to 64m, like 512k or 1\.5m\.$/m,
    ],
    ['a malformed host', ['--host', '[::1'], /--host \[::1: "\[::1" is not a host name or an IP address/],
    ['a port that cannot be', ['--host', 'fluentd:70000'], /the port must be 1-65535/],
    [
      '--tls-insecure with --tls-ca',
      ['--tls-insecure', '--tls-ca', fixture('tls/ca.pem')],
      /'--tls-insecure' cannot be used with option '--tls-ca/,
    ],
    ['--compress-level without --compress gzip', ['--compress-level', '1'], /--compress-level applies only with --compress gzip/],
    [
      '--checkpoint with --kubectl',
      ['--kubectl', 'deploy/x', '--checkpoint', 'cp.json'],
      /'--checkpoint <file>' cannot be used with option '--kubectl/,
    ],
    [
      'a spool action that does not exist',
      ['spool', 'frob'],
      /'frob' is invalid for argument 'status\|verify\|purge'\. Allowed choices are status, verify, purge/,
    ],
    // Once "missing required argument 'action'", which left the user to look up the actions.
    ['a spool command without its action', ['spool'], /missing required argument 'status\|verify\|purge'/],
    // Once an internal error ("a promise was never settled"), after spooling the input.
    ['--host with no server in it', ['--host', ''], /--host names no server \(an empty value, or AUDIT_SHIP_HOST set empty\?\)/],
    ['--host of commas alone', ['--host', ' , '], /--host names no server/],
    // Once an internal error (ENOTDIR from scandir).
    [
      'spool status of a file',
      ['spool', 'status', '--spool-dir', file],
      /no spool at \S+waiting\.jsonl: not a directory \(ERR_AUDIT_SHIP_USAGE\)/,
    ],
    // Once "cannot lock the spool …: the directory … does not exist", exit 1, where status said this.
    [
      'spool purge of a spool that is not there',
      ['spool', 'purge', '--yes', '--spool-dir', `${file}.d`],
      /no spool at \S+waiting\.jsonl\.d \(ERR_AUDIT_SHIP_USAGE\)/,
    ],
    [
      'spool purge of a file',
      ['spool', 'purge', '--spool-dir', file],
      /no spool at \S+waiting\.jsonl: not a directory \(ERR_AUDIT_SHIP_USAGE\)/,
    ],
    // Each once ran the whole input first: '' as the spool, a checkpoint named '' (leaving `.tmp`
    // and `.lock` in the working directory), '' as the dead-letter file, an empty tag sent as such.
    [
      '--spool-dir set empty',
      ['--spool-dir', ''],
      /'--spool-dir <dir>' argument '' is invalid\. an empty value names nothing; give a directory\./,
    ],
    ['--checkpoint set empty', ['--checkpoint', '', '-'], /'--checkpoint <file>' argument '' is invalid\. a file is needed/],
    ['--dead-letter set empty', ['--dead-letter', '', '-'], /'--dead-letter <file>' argument '' is invalid\. a file is needed/],
    ['--tag set empty', ['--tag', ''], /'--tag <tag>' argument '' is invalid\. an empty value names nothing; give a tag/],
    // The spool keeps each chunk's tag with it, its length in two bytes.
    ['--tag over 64 KiB', ['--tag', 'a'.repeat(65_536)], /'--tag <tag>' argument 'a+' is invalid\. a tag is 65535 bytes at most\./],
    [
      'lint --output set empty',
      ['lint', '--output', ''],
      /'--output <file>' argument '' is invalid\. an empty value names nothing; give a file, or - for stdout\./,
    ],
    // Each once went on to a handshake with an empty key, which proves nothing (or failed only there).
    [
      '--shared-key set empty',
      ['--shared-key', ''],
      /'--shared-key <key>' argument '' is invalid\. an empty key proves nothing; give the shared_key/,
    ],
    ['--password set empty', ['--shared-key', 'k', '--username', 'a', '--password', ''], /an empty password proves nothing/],
    ['receive --shared-key set empty', ['receive', '--shared-key', ''], /an empty key proves nothing; give the key shippers must send\./],
    [
      '--since 24h ago, unquoted',
      ['--since', '24h', 'ago'],
      /--since: 'ago' was left as an input file; quote the span with it \(--since '24h ago'\), or give the span alone/,
    ],
    ['--password without --username', ['--shared-key', 'k', '--password', 'p'], /--password needs --username/],
    ['--username without --password', ['--shared-key', 'k', '--username', 'alice'], /--username needs --password/],
    // Once read for ever.
    ['a CA "file" that never ends', ['--tls-ca', '/dev/zero'], /--tls-ca \/dev\/zero: holds over 8 MiB, far more than a PEM certificate/],
    [
      'receive: a users "file" that never ends',
      ['receive', '--shared-key', 'k', '--users-file', '/dev/zero'],
      /--users-file \/dev\/zero: holds over 8 MiB, far more than a users file/,
    ],
    [
      'a CA file that holds no certificate',
      ['--tls-ca', fixture('records-valid.jsonl')],
      /--tls-ca .*records-valid\.jsonl: holds no PEM certificate/,
    ],
    [
      'a duration past what a timer holds',
      ['--ack-timeout', '30d'],
      /expected a duration from 1ms to 24\.8d, like 250ms, 30s, 5m, 2h or 1d\.$/m,
    ],
    [
      'a mistyped command',
      ['lnit', '-'],
      /unknown command 'lnit' \(did you mean lint\?\); to read a file of that name, write \.\/lnit or put it after --/,
    ],
    // Commander suggests only what is a few edits away: `--spool` once got no hint at all.
    [
      'an option that begins several',
      ['--spool', 'dir'],
      /unknown option '--spool'\n\(Did you mean one of --spool-dir, --spool-max-bytes, --spool-overflow, --spool-fsync\?\)/,
    ],
    ['an option that begins one', ['--retry=5m'], /unknown option '--retry=5m'\n\(Did you mean --retry-timeout\?\)/],
    // `-` once made a file of that name: a dead letter must be on disk before the checkpoint passes it.
    ['--dead-letter -', ['--dead-letter', '-', '-'], /'--dead-letter <file>' argument '-' is invalid\. a file is needed/],
    ['--checkpoint -', ['--checkpoint', '-', '-'], /'--checkpoint <file>' argument '-' is invalid\. a file is needed/],
    ['an option of lint begun', ['lint', '--max', '-'], /\(Did you mean one of --max-line-bytes, --max-errors, --max-warnings\?\)/],
    ["a misspelt option (commander's own hint)", ['--hots', 'fluentd'], /unknown option '--hots'\n\(Did you mean --host\?\)/],
  ] as const) {
    it(`${what}: exit 2 with a message, and stdin not consumed`, () => {
      const res = leftOnStdin([...args], file);
      assert.equal(res.code, EXIT.usage, res.stderr);
      assert.match(res.stderr, message);
      assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(res.rest, readFileSync(file, 'utf8'), 'every byte is still there for the next reader');
    });
  }

  for (const [name, message, args] of [
    ['AUDIT_SHIP_HOST', /--host names no server \(an empty value, or AUDIT_SHIP_HOST set empty\?\)/],
    ['AUDIT_SHIP_SPOOL_DIR', /'--spool-dir <dir>' value '' from env 'AUDIT_SHIP_SPOOL_DIR' is invalid\. an empty value names nothing/],
    ['AUDIT_SHIP_TAG', /'--tag <tag>' value '' from env 'AUDIT_SHIP_TAG' is invalid\. an empty value names nothing/],
    ['AUDIT_SHIP_SHARED_KEY', /'--shared-key <key>' value '' from env 'AUDIT_SHIP_SHARED_KEY' is invalid\. an empty key proves nothing/],
    ['AUDIT_SHIP_USERNAME', /'--username <name>' value '' from env 'AUDIT_SHIP_USERNAME' is invalid\. an empty value names nothing/],
    ['KUBECTL', /--kubectl-command \(or KUBECTL\) is empty: give the kubectl to run/, ['--kubectl', 'deploy/x']],
  ] as const) {
    it(`${name} set empty (a ConfigMap key with no value): exit 2 with a message, and stdin not consumed`, () => {
      const res = leftOnStdin([...(args ?? [])], file, { [name]: '' });
      assert.equal(res.code, EXIT.usage, res.stderr);
      assert.match(res.stderr, message);
      assert.equal(res.rest, readFileSync(file, 'utf8'));
    });
  }

  // Set in a Deployment's env, the value is not among the args the message sent the user to.
  for (const [name, value, message] of [
    ['AUDIT_SHIP_HOST', '[::1', /audit-ship: --host \(from AUDIT_SHIP_HOST\) \[::1: "\[::1" is not a host name or an IP address/],
    ['AUDIT_SHIP_PASSWORD', 'secret', /audit-ship: --password \(from AUDIT_SHIP_PASSWORD\) needs --username/],
  ] as const) {
    it(`a usage error about ${name}'s value names the variable`, () => {
      const res = leftOnStdin([], file, { [name]: value });
      assert.equal(res.code, EXIT.usage, res.stderr);
      assert.match(res.stderr, message);
    });
  }

  it('a file that is not text lines is refused before anything is read', async () => {
    const zip = join(tempDir(), 'logs.zip');
    writeFileSync(zip, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(100)]));
    const res = await runCli(['--port', '1', zip]);
    assert.equal(res.code, EXIT.usage);
    assert.match(res.stderr, /logs\.zip: holds a zip archive, not JSON lines; extract the log files/);
  });

  it('a gzip file whose header is corrupt is refused before anything is read, described once', async () => {
    const file = join(tempDir(), 'bad-header.gz');
    writeFileSync(file, Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('XXXXXXXXXXXXXXXX')]));
    const res = await runCli(['--port', '1', file]);
    assert.equal(res.code, EXIT.usage);
    assert.match(res.stderr, /bad-header\.gz: not valid gzip data \(unknown compression method\) \(ERR_AUDIT_SHIP_INPUT\)/);
  });

  it('a file named like a command is reached with ./ or after --', async () => {
    const r = await receiver();
    const dir = tempDir();
    writeFileSync(join(dir, 'lnit'), new Ledger(3, 1210).text());
    writeFileSync(join(dir, 'lint'), new Ledger(4, 1211).text());
    assert.equal((await runCli(['--port', String(r.port), './lnit'], { cwd: dir })).code, EXIT.ok);
    assert.equal((await runCli(['--port', String(r.port), '--', 'lint'], { cwd: dir })).code, EXIT.ok);
    assert.equal(r.events().length, 7);
  });

  it('receive on a port in use: one line naming the port, exit 2', async (t) => {
    const port = await busyPort(t);
    const res = await runCli(['receive', '--port', String(port)]);
    assert.equal(res.code, EXIT.usage, res.stderr);
    assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
    assert.match(res.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is in use`));
  });

  it("a metrics address in use, not this host's, or not a host: names the option at fault, exit 2", async (t) => {
    const port = await busyPort(t);
    for (const [args, message] of [
      [
        ['--metrics-port', String(port)],
        new RegExp(`--metrics-port ${port}: cannot listen on 127\\.0\\.0\\.1:${port}: the address is in use`),
      ],
      [
        ['--metrics-port', '0', '--metrics-host', '192.0.2.1'],
        /--metrics-host 192\.0\.2\.1: cannot listen on 192\.0\.2\.1:0: the address is not one of this host's/,
      ],
      [
        ['--metrics-port', '0', '--metrics-host', 'no-such-host.invalid'],
        /--metrics-host no-such-host\.invalid: cannot listen on \S+: no such host name/,
      ],
    ] as const) {
      const res = await runCli(['--port', '1', '--retry-timeout', '1s', ...args], { input: '' });
      assert.equal(res.code, EXIT.usage, res.stderr);
      assert.match(res.stderr, message);
    }
  });

  it('--version is the version in package.json, wherever it runs from', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const res = spawnSync(process.execPath, [CLI, '--version'], { cwd: tempDir(), env: { PATH: process.env.PATH } });
    assert.equal(res.stdout.toString().trim(), version);
  });

  it('takes one syntax for sizes and durations, decimals included', async () => {
    const r = await receiver();
    const res = await runCli(
      ['--port', String(r.port), '--chunk-bytes', '1.5m', '--ack-timeout', '0.5d', '--flush-interval', '250ms', '--since', '36500d', '-'],
      { input: new Ledger(3, 1212).text() },
    );
    assert.equal(res.code, EXIT.ok, res.stderr);
    assert.equal(r.events().length, 3);
  });
});
