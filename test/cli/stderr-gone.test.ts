/**
 * stderr carries notes and the summary, never data: a reader of it that goes away (`2>&1 | head`,
 * a pager quit, a terminal closed) must not end a run. Its write failed with EPIPE, uncaught, and
 * the run died mid-flight with exit 1, whatever it had done or would have done.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cliEnv, tempDir } from '../helpers/cli.js';
import { Ledger } from '../helpers/ledger.js';
import { freePort } from '../helpers/net.js';
import { CLI } from '../helpers/paths.js';
import { startReceiveCli } from '../helpers/receive-cli.js';
import { waitFor } from '../helpers/ship-cli.js';
import { EXIT } from '../../src/cli/exit.js';

/** Starts a shipper whose stderr is closed by its reader once it has said its first note. */
function shipWithStderrGone(args: string[]): { exit: Promise<number | null>; gone: Promise<string> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: cliEnv() });
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  const gone = new Promise<string>((resolve) =>
    child.stderr!.once('data', (chunk: Buffer) => {
      child.stderr!.destroy();
      resolve(chunk.toString());
    }),
  );
  return { exit, gone };
}

describe('a run whose stderr reader went away', () => {
  it('goes on and delivers everything, exit 0', async (t) => {
    const ledger = new Ledger(500, 11);
    const path = join(tempDir(), 'audit.jsonl');
    writeFileSync(path, ledger.text());
    const port = await freePort();
    const spool = join(tempDir(), 'spool');
    const ship = shipWithStderrGone(['--port', String(port), '--spool-dir', spool, '--no-progress', path]);
    // Nothing listens yet: the first note is the connection refused, and notes go on as it retries.
    assert.match(await ship.gone, /cannot connect to 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    const receiver = await startReceiveCli(['--port', String(port)]);
    t.after(() => receiver.stop());
    assert.equal(await ship.exit, EXIT.ok);
    // The receiver writes what it acked as it goes: wait for the last line rather than race it.
    await waitFor(() => receiver.requestIds().length >= ledger.ids.length, `${ledger.ids.length} records at the receiver`);
    assert.equal(ledger.assertComplete(receiver.requestIds()), 0);
  });

  it('gives up with the exit code of giving up, not that of a crash', async () => {
    const path = join(tempDir(), 'audit.jsonl');
    writeFileSync(path, new Ledger(20, 12).text());
    const port = await freePort();
    const ship = shipWithStderrGone(['--port', String(port), '--spool-dir', join(tempDir(), 'spool'), '--retry-timeout', '1s', path]);
    await ship.gone;
    assert.equal(await ship.exit, EXIT.leftInSpool);
  });
});
