/** `audit-ship` (ship) end to end: the built CLI into `audit-ship receive`, both real processes. */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit.js';
import { gzipSync } from 'node:zlib';
import { once } from 'node:events';
import { cliEnv, runCli, tempDir } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { receivers } from '../helpers/receive-cli.js';
import { jsonSummary, startShip } from '../helpers/ship-cli.js';
import { CLI } from '../helpers/paths.js';
import { spawn } from 'node:child_process';
import { FaultServer } from '../helpers/fault-server.js';
import { idOf, lines } from '../helpers/ledger.js';

const dir = tempDir('audit-ship-ship-');
const receiver = receivers();

describe('audit-ship ship', () => {
  it('ships stdin, with application logs skipped and invalid records reported', async () => {
    const r = await receiver();
    const good = lines(300, 21);
    const input = [
      'I0922 12:00:00 server started',
      ...good.slice(0, 150).map((l) => l.trim()),
      '{"RequestID":"not-a-uuid"}',
      ...good.slice(150).map((l) => l.trim()),
    ].join('\n');
    const res = await runCli(['--port', String(r.port), '--summary', 'json'], { input });
    assert.equal(res.code, EXIT.invalidNotKept, res.stderr);
    const summary = jsonSummary(res.stderr);
    assert.equal(summary.valid, 300);
    assert.equal(summary.invalid, 1);
    assert.equal(summary.skipped, 1);
    assert.equal(summary.recordsAcked, 300);
    assert.match(res.stderr, /<stdin>:152: error RequestID: expected version 4 UUID/);
    assert.deepEqual(new Set(r.events().map((e) => e.record.RequestID)), new Set(good.map(idOf)));
  });

  it('ships files one after another with --workers 1, .gz included, as `ship` or with no command', async () => {
    const r = await receiver();
    const a = lines(120, 22);
    const b = lines(80, 23);
    const plain = join(dir, 'a.jsonl');
    const gz = join(dir, 'b.jsonl.gz');
    writeFileSync(plain, a.join(''));
    writeFileSync(gz, gzipSync(b.join('')));
    const res = await runCli([
      'ship',
      '--port',
      String(r.port),
      '--chunk-records',
      '50',
      '--compress',
      'gzip',
      '--workers',
      '1',
      plain,
      gz,
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(
      r.events().map((e) => e.record.RequestID),
      [...a.map(idOf), ...b.map(idOf)],
      'in input order',
    );
    assert.equal(r.events()[0]!.tag, 'deploy_audit.audit_ship');
  });

  it('fails over to the next --host in order', async () => {
    const r = await receiver();
    const dead = await freePort();
    const res = await runCli(['--host', `127.0.0.1:${dead},127.0.0.1:${r.port}`, '--summary', 'none'], { input: lines(10, 24).join('') });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(r.events().length, 10);
    assert.match(res.stderr, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${dead}`));
  });

  // Fluentd acks events that no <match> takes and drops them: such a run ended "complete", exit 0.
  it("notes a --tag outside deploy_audit.**, which the platform's Fluentd setup would drop after acking", async () => {
    const r = await receiver();
    const input = lines(3, 25).join('');
    const outside = await runCli(['--port', String(r.port), '--tag', 'other.audit', '--summary', 'none'], { input });
    assert.equal(outside.code, 0, outside.stderr);
    assert.match(
      outside.stderr,
      /--tag other\.audit is outside deploy_audit\.\*\*, the <match> of the platform's Fluentd setup: .*"no patterns matched"/,
    );
    for (const tag of ['deploy_audit', 'deploy_audit.backfill.2024']) {
      const inside = await runCli(['--port', String(r.port), '--tag', tag, '--summary', 'none'], { input });
      assert.doesNotMatch(inside.stderr, /outside deploy_audit/, tag);
    }
    const quiet = await runCli(['--port', String(r.port), '--tag', 'other.audit', '--quiet'], { input });
    assert.equal(quiet.stderr, '', 'a chosen tag is not mailed by every cron run');
    assert.deepEqual([...new Set(r.events().map((e) => e.tag))].sort(), ['deploy_audit', 'deploy_audit.backfill.2024', 'other.audit']);
  });

  // A cron job mails whatever reaches stderr: every run mailed its summary and a note per file resumed.
  it('--quiet: nothing on stderr for a run with nothing to attend to; what needs attention still said', async () => {
    const r = await receiver();
    const logs = join(tempDir(), 'logs');
    mkdirSync(logs);
    writeFileSync(join(logs, 'audit.log'), lines(10, 28).join(''));
    writeFileSync(join(logs, 'README.txt'), 'not a log\n');
    const args = ['--port', String(r.port), '--quiet', '--checkpoint', join(logs, '..', 'cp.json'), logs];
    const first = await runCli(args);
    assert.equal(first.code, EXIT.ok, first.stderr);
    assert.equal(first.stderr, '', 'the first run, with a file skipped in the directory');
    appendFileSync(join(logs, 'audit.log'), lines(2, 29).join(''));
    const resumed = await runCli(args);
    assert.equal(resumed.code, EXIT.ok, resumed.stderr);
    assert.equal(resumed.stderr, '', 'a resumed file');
    assert.equal(r.events().length, 12);
    const json = await runCli([...args, '--summary', 'json']);
    assert.equal(json.stderr.trim().split('\n').length, 1, json.stderr);
    assert.equal(jsonSummary(json.stderr).filesAlreadyShipped, 1, 'a JSON summary asked for stays');
    const glob = await runCli([...args, join(logs, 'nothing-*.gz')]);
    assert.match(glob.stderr, /nothing-\*\.gz: no file matches/);
    const down = await runCli(['--port', String(await freePort()), '--quiet', '--retry-timeout', '1s'], { input: lines(1, 30).join('') });
    assert.equal(down.code, EXIT.leftInSpool, down.stderr);
    assert.match(down.stderr, /cannot connect to .*; retrying/);
    assert.match(down.stderr, /exit 3: 1 record was not acked and stays in the spool/);
    assert.doesNotMatch(down.stderr, /lines read/, 'no text summary');
  });

  // Once "requires a shared key …; reconnecting", then the fatal error: no reconnect came.
  it('a server that wants a shared key none was given: said once, as the fatal error it is, exit 1', async () => {
    const r = await receiver(['--shared-key', 'k3y']);
    const res = await runCli(['--port', String(r.port)], { input: lines(3, 27).join('') });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /requires a shared key \(it sent HELO\): set --shared-key \(ERR_AUDIT_SHIP_AUTH\)/);
    assert.equal(res.stderr.match(/requires a shared key/g)?.length, 1, res.stderr);
    assert.doesNotMatch(res.stderr, /reconnecting/);
    assert.match(res.stderr, /3 records were not acked and stay in the spool/);
  });

  it('takes the shared key and credentials from the environment and never prints them', async () => {
    const r = await receiver(['--shared-key', 'env-k3y-value', '--user', 'alice:env-pass-value']);
    const env = { AUDIT_SHIP_SHARED_KEY: 'env-k3y-value', AUDIT_SHIP_USERNAME: 'alice', AUDIT_SHIP_PASSWORD: 'env-pass-value' };
    const ok = await runCli(['--port', String(r.port)], { input: lines(5, 25).join(''), env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(r.events().length, 5);
    const bad = await runCli(['--port', String(r.port), '--retry-timeout', '1s'], {
      input: lines(5, 26).join(''),
      env: { ...env, AUDIT_SHIP_PASSWORD: 'wrong-pass-value' },
    });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /rejected the handshake: username\/password mismatch \(ERR_AUDIT_SHIP_AUTH\)/);
    for (const out of [ok.stdout, ok.stderr, bad.stdout, bad.stderr]) {
      assert.doesNotMatch(out, /env-k3y-value|env-pass-value|wrong-pass-value/);
    }
    const help = await runCli(['ship', '--help'], { env });
    assert.match(help.stdout, /AUDIT_SHIP_SHARED_KEY/);
    assert.doesNotMatch(help.stdout, /env-k3y-value|env-pass-value/);
  });

  it('exits 3 after --retry-timeout when nothing listens, the records kept in the spool', async () => {
    const res = await runCli(['--port', String(await freePort()), '--retry-timeout', '2s'], { input: lines(3, 29).join('') });
    assert.equal(res.code, EXIT.leftInSpool);
    assert.match(
      res.stderr,
      /gave up: nothing could be delivered for 2 s \(--retry-timeout\); the last try: cannot connect to 127\.0\.0\.1:\d+: connect ECONNREFUSED/,
    );
    assert.match(res.stderr, /exit 3: 3 records were not acked and stay in the spool/);
  });

  it('names the one failed try when --retry-timeout ends before a second', async () => {
    // The handshake waits out --connect-timeout, longer than --retry-timeout: the give-up is the only word.
    const r = await receiver();
    const args = ['--port', String(r.port), '--shared-key', 'k', '--connect-timeout', '2s', '--retry-timeout', '1s'];
    const res = await runCli(args, { input: lines(3, 29).join('') });
    assert.equal(res.code, EXIT.leftInSpool, res.stderr);
    assert.match(
      res.stderr,
      /gave up: nothing could be delivered for 1 s \(--retry-timeout\); the last try: no handshake with 127\.0\.0\.1:\d+ within 2 s: it sent no HELO/,
    );
    assert.doesNotMatch(res.stderr, /retrying/);
  });

  it('exits 2 on bad option values', async () => {
    assert.equal((await runCli(['--port', '0'])).code, 2);
    assert.equal((await runCli(['--ack-timeout', 'soon'])).code, 2);
    assert.equal((await runCli(['--host', 'h:99999'], { input: '' })).code, 2);
  });
});

describe('audit-ship ship shutdown', () => {
  it('on SIGTERM under --rate ships every line already read from stdin, at once, and accounts for every byte', async () => {
    const r = await receiver();
    const input = lines(600, 32);
    const ship = startShip(['--port', String(r.port), '--rate', '50', '--flush-interval', '50ms', '--summary', 'json']);
    ship.child.stdin!.write(input.join(''));
    for (let i = 0; i < 3000 && r.events().length < 10; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(await ship.exit('SIGTERM'), EXIT.inputUnread, ship.stderr());
    const s = jsonSummary(ship.stderr());
    assert.ok(s.lines! < 600, 'stopped before the end');
    // Every byte read from stdin is in a counted line; the last one may be cut (and is reported).
    const upTo = (n: number) => input.slice(0, n).reduce((sum, l) => sum + Buffer.byteLength(l), 0);
    assert.ok(s.bytesRead! > upTo(s.lines! - 1) && s.bytesRead! <= upTo(s.lines!), `${s.bytesRead} bytes read in ${s.lines} lines`);
    assert.equal(s.recordsAcked! + s.invalid!, s.lines);
    assert.ok(s.invalid! <= 1);
    assert.equal(r.events().length, s.recordsAcked);
  });

  it('on SIGTERM stops reading an idle stdin, sends what it read, and exits 4: stdin had not ended', async () => {
    const r = await receiver();
    const child = spawn(process.execPath, [CLI, '--port', String(r.port), '--flush-interval', '50ms'], {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: cliEnv(),
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdin.write(lines(40, 30).join(''));
    for (let i = 0; i < 500 && r.events().length < 40; i++) await new Promise((res) => setTimeout(res, 10));
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, EXIT.inputUnread, stderr);
    assert.match(stderr, /exit 4: input not fully read: <stdin>: stopped by SIGTERM; the rest of stdin was not read/);
    assert.match(stderr, /SIGTERM: reading stopped, waiting up to 10 s for acks \(SIGTERM again: stop now\);/);
    assert.match(stderr, /40 records sent, 40 acked in 1 chunk,/);
    assert.match(stderr, /0 left in spool/);
  });

  it('exits 3 and leaves the records in the spool when acks do not come in time', async () => {
    const holder = new FaultServer(() => 'hold');
    const port = await holder.listen();
    try {
      const child = spawn(process.execPath, [CLI, '--port', String(port), '--flush-interval', '50ms', '--shutdown-timeout', '200ms'], {
        stdio: ['pipe', 'ignore', 'pipe'],
        env: cliEnv(),
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      // stdin ends: every input is read, so what is left is the unacked records alone (exit 3).
      child.stdin.end(lines(25, 31).join(''));
      for (let i = 0; i < 500 && holder.chunks.length < 1; i++) await new Promise((res) => setTimeout(res, 10));
      child.kill('SIGINT');
      const [code] = (await once(child, 'exit')) as [number];
      assert.equal(code, 3, stderr);
      assert.match(stderr, /25 records were not acked and stay in the spool/);
      assert.match(stderr, /25 left in spool/);
    } finally {
      await holder.close();
    }
  });
});
