/**
 * A real Fluent Bit as the aggregator: its forward input (shared key, a user) taking what `ship`
 * sends, and its forward output relaying it to `audit-ship receive` (shared key). Runs when
 * FLUENT_BIT (or PATH) names a fluent-bit built with its forward input and output
 * (`-DFLB_IN_FORWARD=On -DFLB_OUT_FORWARD=On`, docs/performance.md); skips, saying why, otherwise.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { findFluentBit } from '../../bench/peer-fluent-bit.js';
import { sampleLines } from '../../src/sample/generate.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { assertRelayed, receivers } from '../helpers/receive-cli.js';
import { waitFor } from '../helpers/ship-cli.js';

/** The binary, or why these tests cannot run. */
function fluentBit(): { bin: string } | { missing: string } {
  const bin = findFluentBit();
  if (!bin) return { missing: 'no fluent-bit (FLUENT_BIT=/path, or on PATH)' };
  const help = spawnSync(bin, ['--help'], { encoding: 'utf8' });
  if (!/forward\s+Fluentd in-forward/.test(`${help.stdout}${help.stderr}`)) {
    return { missing: `${bin} has no forward input: build it with -DFLB_IN_FORWARD=On` };
  }
  return { bin };
}

const found = fluentBit();
const receiver = receivers();

interface Aggregator {
  port: number;
  log: () => string;
}

/** Fluent Bit: forward input on a free port (with `input` settings) → forward output to `relayPort`. */
async function aggregator(t: TestContext, bin: string, relayPort: number, input: string[]): Promise<Aggregator> {
  const port = await freePort();
  const conf = join(tempDir('audit-ship-fluent-bit-'), 'fluent-bit.conf');
  const output = ['[OUTPUT]', '    Name forward', '    Match *', '    Host 127.0.0.1', `    Port ${relayPort}`];
  const relay = [...output, '    Shared_Key k3y', '    Self_Hostname fb-relay', '    Require_ack_response true'];
  const service = ['[SERVICE]', '    Flush 0.2', '    Grace 1', '    Log_Level info'];
  const source = ['[INPUT]', '    Name forward', '    Listen 127.0.0.1', `    Port ${port}`, ...input.map((l) => `    ${l}`)];
  writeFileSync(conf, [...service, ...source, ...relay, ''].join('\n'));
  const child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr.on('data', (c: Buffer) => (log += c.toString()));
  t.after(() => child.kill('SIGKILL'));
  await waitFor(() => /listening on 127\.0\.0\.1:\d+/.test(log), 'Fluent Bit listening');
  // It says so before its event loop takes connections: one connect proves it.
  await new Promise<void>((resolve, reject) => {
    const probe = connect(port, '127.0.0.1', () => probe.end(resolve)).on('error', reject);
  });
  return { port, log: () => log };
}

const SECURE_INPUT = ['Shared_Key k3y', 'Self_Hostname fb-aggregator', 'security.users alice wonderland'];
const CREDENTIALS = ['--shared-key', 'k3y', '--username', 'alice', '--password', 'wonderland'];

describe('Fluent Bit as the aggregator', { skip: 'missing' in found ? found.missing : false }, () => {
  const bin = 'bin' in found ? found.bin : '';

  it('takes every record through its forward input and output, each the same as sent', async (t) => {
    const r = await receiver(['--shared-key', 'k3y']);
    const fb = await aggregator(t, bin, r.port, SECURE_INPUT);
    const sent = [...sampleLines(300, { seed: 157, start: 1632312000 })];
    const res = await runCli(['--port', String(fb.port), ...CREDENTIALS, '--compress', 'gzip', '-'], { input: sent.join('') });
    assert.equal(res.code, 0, res.stderr);
    await waitFor(() => r.events().length >= sent.length, `${sent.length} records relayed`);
    assertRelayed(r, sent, fb.log());
  });

  it('a wrong shared key: the closed connection is said as a refused key, and the records stay in the spool', async (t) => {
    const r = await receiver(['--shared-key', 'k3y']);
    const fb = await aggregator(t, bin, r.port, SECURE_INPUT);
    const args = ['--port', String(fb.port), '--shared-key', 'wrong', '--username', 'alice', '--password', 'wonderland'];
    const res = await runCli([...args, '--retry-timeout', '3s', '-'], {
      input: [...sampleLines(5, { seed: 158, start: 1632312000 })].join(''),
    });
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, /closed the connection after our PING, with no PONG; a server that does not accept the shared key/);
    assert.match(fb.log(), /shared_key mismatch/);
  });

  it('a chunk over its Buffer_Max_Size: named with its size, from the third connection it ends', async (t) => {
    const r = await receiver(['--shared-key', 'k3y']);
    const fb = await aggregator(t, bin, r.port, ['Buffer_Chunk_Size 64k', 'Buffer_Max_Size 128k']);
    const res = await runCli(['--port', String(fb.port), '--retry-timeout', '4s', '-'], {
      input: [...sampleLines(300, { seed: 159, start: 1632312000 })].join(''),
    });
    assert.equal(res.code, 3, res.stderr);
    assert.match(
      res.stderr,
      /does the server take no message that big\? chunk \S+ of \d+ bytes was in flight at each of the 3 connections/,
    );
    assert.match(fb.log(), /incoming data exceed limit/);
  });
});
