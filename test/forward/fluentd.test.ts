/**
 * A real Fluentd as the aggregator: its forward input (`<security>` with a shared key and a user)
 * taking what `ship` sends, and its forward output (gzip, acks) relaying it to `audit-ship
 * receive`. Runs when FLUENTD names Fluentd's `bin/fluentd` (with RUBYLIB naming its `lib` and
 * serverengine's, as docs/fluentd.md runs it from source); skips, saying why, otherwise.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { sampleLines } from '../../src/sample/generate.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { assertRelayed, receivers } from '../helpers/receive-cli.js';
import { waitFor } from '../helpers/ship-cli.js';

const FLUENTD = process.env.FLUENTD ?? '';
const missing = !FLUENTD
  ? 'no Fluentd (FLUENTD=/path/to/fluentd/bin/fluentd, with RUBYLIB naming its lib and serverengine/lib)'
  : existsSync(FLUENTD)
    ? null
    : `FLUENTD=${FLUENTD} does not exist`;
const receiver = receivers();

/** Fluentd: forward input with a shared key and a user → forward output (gzip, acks) to `relayPort`. */
async function aggregator(t: TestContext, relayPort: number): Promise<{ port: number; log: () => string }> {
  const port = await freePort();
  const conf = join(tempDir('audit-ship-fluentd-'), 'fluent.conf');
  const security = (host: string) => ['  <security>', `    self_hostname ${host}`, '    shared_key k3y'];
  const user = ['    user_auth true', '    <user>', '      username alice', '      password wonderland', '    </user>'];
  writeFileSync(
    conf,
    [
      '<source>',
      '  @type forward',
      '  bind 127.0.0.1',
      `  port ${port}`,
      ...security('fluentd-aggregator'),
      ...user,
      '  </security>',
      '</source>',
      '<match deploy_audit.**>',
      '  @type forward',
      '  require_ack_response true',
      '  compress gzip',
      ...security('fluentd-relay'),
      '  </security>',
      '  <server>',
      '    host 127.0.0.1',
      `    port ${relayPort}`,
      '    username alice',
      '    password wonderland',
      '  </server>',
      '  <buffer>',
      '    flush_interval 1',
      '  </buffer>',
      '</match>',
      '',
    ].join('\n'),
  );
  const child = spawn('ruby', [FLUENTD, '-c', conf, '--no-supervisor'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr.on('data', (c: Buffer) => (log += c.toString()));
  t.after(() => child.kill('SIGKILL'));
  await waitFor(() => /fluentd worker is now running/.test(log), 'Fluentd running');
  await new Promise<void>((resolve, reject) => {
    const probe = connect(port, '127.0.0.1', () => probe.end(resolve)).on('error', reject);
  });
  return { port, log: () => log };
}

const CREDENTIALS = ['--shared-key', 'k3y', '--username', 'alice'];

describe('Fluentd as the aggregator', { skip: missing ?? false }, () => {
  it('takes every record through its forward input and output, each the same as sent', async (t) => {
    const r = await receiver(['--shared-key', 'k3y', '--user', 'alice:wonderland']);
    const fluentd = await aggregator(t, r.port);
    const sent = [...sampleLines(300, { seed: 257, start: 1632312000 })];
    const res = await runCli(['--port', String(fluentd.port), ...CREDENTIALS, '--password', 'wonderland', '-'], { input: sent.join('') });
    assert.equal(res.code, 0, res.stderr);
    await waitFor(() => r.events().length >= sent.length, `${sent.length} records relayed`);
    assertRelayed(r, sent, fluentd.log());
  });

  it('a wrong password is refused with the reason its PONG gives: exit 1', async (t) => {
    const r = await receiver(['--shared-key', 'k3y', '--user', 'alice:wonderland']);
    const fluentd = await aggregator(t, r.port);
    const res = await runCli(['--port', String(fluentd.port), ...CREDENTIALS, '--password', 'nope', '-'], {
      input: [...sampleLines(3, { seed: 258, start: 1632312000 })].join(''),
    });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /rejected the handshake: username\/password mismatch/);
  });
});
