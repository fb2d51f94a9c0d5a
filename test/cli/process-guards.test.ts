/**
 * What the process does, whatever the command, with what a command does not handle itself
 * (src/cli/process-guards.ts): a reader of stderr that goes away, SIGUSR1, and a stop signal to
 * PID 1 (a container's entrypoint) while no run is there to take it.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cliEnv, tempDir } from '../helpers/cli.js';
import { Ledger } from '../helpers/ledger.js';
import { freePort } from '../helpers/net.js';
import { CLI } from '../helpers/paths.js';
import { receivers, startReceiveCli } from '../helpers/receive-cli.js';
import { startShip, waitFor } from '../helpers/ship-cli.js';
import { unshareUnavailable } from '../helpers/unshare.js';
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

const receiver = receivers();
const DEBUGGER = /Debugger listening/;

describe('SIGUSR1', () => {
  it('ship says the run so far, and goes on', async () => {
    const r = await receiver();
    const ledger = new Ledger(3, 161);
    const ship = startShip(['--port', String(r.port), '--flush-interval', '50ms']);
    ship.child.stdin!.write(ledger.text());
    await waitFor(() => r.events().length === 3, '3 records at the receiver');
    // The receiver writes a chunk's events before it acks them: at the first signal the ack may
    // still be on its way (a loaded machine), so the run so far is asked again until it has come.
    let asked = 0;
    await waitFor(() => {
      const told = ship.stderr().split('SIGUSR1: the run so far').length - 1;
      if (told === asked && !ship.stderr().includes('3 acked')) {
        ship.child.kill('SIGUSR1');
        asked++;
      }
      return ship.stderr().includes('3 acked');
    }, 'the run so far');
    assert.match(
      ship.stderr(),
      /audit-ship: SIGUSR1: the run so far\naudit-ship: 3 lines read: 3 valid, 0 invalid, 0 skipped \(0 not audit records, 0 blank\)\n3 records sent, 3 acked in 1 chunk, 0 chunks resent; 0 left in spool\n/,
    );
    assert.equal(await ship.exit(), 0, ship.stderr());
    assert.doesNotMatch(ship.stderr(), DEBUGGER);
    assert.equal(ledger.assertComplete(r.requestIds()), 0);
  });

  it('opens no debugger in a command that ignores it', async (t) => {
    const r = await startReceiveCli();
    t.after(() => r.stop());
    r.child.kill('SIGUSR1');
    // Signals are handled in the order sent: by the SIGTERM, a debugger would have said so.
    assert.equal(await r.stop(), 0, r.stderr());
    assert.doesNotMatch(r.stderr(), DEBUGGER);
  });
});

const skipPid1 = unshareUnavailable(['--pid', '--fork'], 'the PID 1 test');

describe('as PID 1, as the image runs it', { skip: skipPid1 ?? false }, () => {
  // A signal with no handler is dropped by PID 1: a SIGTERM while the run was starting went
  // unheard, and the run went on until it gave up (a pod: until its grace period's SIGKILL).
  it('a SIGTERM while the run starts stops it', async (t) => {
    const dir = tempDir();
    const fifo = join(dir, 'dead.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const input = join(dir, 'audit.jsonl');
    writeFileSync(input, new Ledger(3, 162).text());
    // The --dead-letter pipe holds the start in its open until a reader comes: a start that takes long.
    const args = ['--port', '1', '--retry-timeout', '30s', '--shutdown-timeout', '1s', '--dead-letter', fifo, input];
    const child = spawn('unshare', ['--pid', '--fork', '--kill-child', process.execPath, CLI, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: cliEnv(),
    });
    t.after(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = once(child, 'exit');
    const inner = () => readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
    await waitFor(() => inner() !== '' && readFileSync(`/proc/${inner()}/wchan`, 'utf8') === 'wait_for_partner', 'the open of the pipe');
    process.kill(Number(inner()), 'SIGTERM');
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    t.after(() => closeSync(reader));
    const [code] = (await exited) as [number | null];
    // Heard once the open returns: the three lines may have been read by then, and the stop says so.
    const heard = /audit-ship: SIGTERM: (reading stopped|every input was read already)/.test(stderr);
    assert.ok(code === 143 || heard, `ended by the signal: exit ${code}\n${stderr}`);
  });
});
