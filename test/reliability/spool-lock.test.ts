/**
 * One shipper per spool, wherever the two run: the same PID namespace, another one (two containers
 * sharing a volume), or a holder that was SIGKILLed or whose pid now belongs to someone else.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit.js';
import { cliEnv, runCli, tempDir } from '../helpers/cli.js';
import { Ledger } from '../helpers/ledger.js';
import { CLI } from '../helpers/paths.js';
import { receivers } from '../helpers/receive-cli.js';
import { killAfterTest, startShip, waitFor } from '../helpers/ship-cli.js';
import { unshareUnavailable } from '../helpers/unshare.js';

const receiver = receivers();

/** Why another PID namespace cannot be made here, or null when it can. */
const skipNamespaces = unshareUnavailable(['--pid', '--fork', '--mount-proc'], 'the PID-namespace tests');

/** audit-ship in a PID namespace of its own, as in a second container sharing the spool's volume. */
function shipInNamespace(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, CLI, ...args], {
    stdio: ['pipe', 'ignore', 'pipe'],
    env: cliEnv(env),
    detached: true,
  });
  // Its whole process group: unshare, and the shipper it forked inside the namespace.
  killAfterTest(child, () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Gone between its exit and the event.
    }
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin!.on('error', () => {});
  return { child, stderr: () => stderr, exited: once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]> };
}

/** The next shipper on the spool takes it and delivers every record of a ledger. */
async function nextShipperDelivers(env: NodeJS.ProcessEnv, ledger: Ledger): Promise<void> {
  const r = await receiver();
  const next = await runCli(['--port', String(r.port)], { input: ledger.text(), env });
  assert.equal(next.code, EXIT.ok, next.stderr);
  ledger.assertComplete(r.requestIds());
}

interface Holder {
  pid: number;
  pidNamespace: string;
  beat: number;
  released?: boolean;
}

/** The lock's holder, or null while there is no lock or it is being written. */
function holderOrNull(spoolDir: string): Holder | null {
  try {
    return JSON.parse(readFileSync(join(spoolDir, 'lock'), 'utf8')) as Holder;
  } catch {
    return null;
  }
}

/**
 * Waits until a shipper holds the spool named in `env`, and returns the holder its lock names. The
 * file exists a moment before its holder is written into it (and is rewritten on each heartbeat),
 * so existing is not enough: it is read until it parses.
 */
async function locked(env: { AUDIT_SHIP_SPOOL_DIR: string }): Promise<Holder> {
  let holder: Holder | null = null;
  // A lock an earlier run released stays in place, marked so: not this shipper's.
  await waitFor(
    () => (holder = holderOrNull(env.AUDIT_SHIP_SPOOL_DIR)) !== null && holder.released !== true,
    'a shipper to lock the spool',
  );
  return holder!;
}

describe('the spool lock', () => {
  it('refuses a second shipper started in another PID namespace', { skip: skipNamespaces ?? false }, async () => {
    const env = { AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool') };
    const first = startShip(['--port', '1'], env);
    await locked(env);
    const second = shipInNamespace(['--port', '1', '-'], env);
    second.child.stdin!.end();
    const [code] = await second.exited;
    assert.equal(code, EXIT.failure, second.stderr());
    assert.match(
      second.stderr(),
      new RegExp(
        `the spool .* is in use by another audit-ship \\(pid ${first.child.pid} on [^)]+\\); give each shipper its own --spool-dir`,
      ),
    );
    assert.equal((await locked(env)).pid, first.child.pid, 'the first one still holds it');
    await first.exit('SIGTERM');
  });

  it(
    'refuses a second shipper in this namespace while one in another namespace holds the spool',
    { skip: skipNamespaces ?? false },
    async () => {
      const env = { AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool') };
      const first = shipInNamespace(['--port', '1', '-'], env);
      await locked(env);
      const second = await runCli(['--port', '1'], { input: '', env });
      assert.equal(second.code, EXIT.failure, second.stderr);
      assert.match(second.stderr, /is in use by another audit-ship \(pid 1 on /);
      process.kill(-first.child.pid!, 'SIGTERM');
      await first.exited;
    },
  );

  it(
    'takes over from a holder SIGKILLed in another namespace once its heartbeat stops, and delivers',
    { skip: skipNamespaces ?? false },
    async () => {
      const env = { AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool') };
      const first = shipInNamespace(['--port', '1', '-'], env);
      await locked(env);
      process.kill(-first.child.pid!, 'SIGKILL');
      await first.exited;
      await nextShipperDelivers(env, new Ledger(20, 1301));
    },
  );

  it('takes over at once from a holder SIGKILLed in this namespace', async () => {
    const env = { AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool') };
    const first = startShip(['--port', '1'], env);
    await locked(env);
    assert.equal(await first.exit('SIGKILL'), null);
    await nextShipperDelivers(env, new Ledger(10, 1302));
  });

  it('is not fooled by a lock whose pid now belongs to another live process', async () => {
    const env = { AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool') };
    const first = startShip(['--port', '1'], env);
    const lock = await locked(env);
    assert.equal(await first.exit('SIGKILL'), null);
    // The same host, boot and namespace, but the pid is now this test's, which started at another time.
    writeFileSync(join(env.AUDIT_SHIP_SPOOL_DIR, 'lock'), JSON.stringify({ ...lock, pid: process.pid }));
    await nextShipperDelivers(env, new Ledger(5, 1303));
  });

  it('keeps beating while it holds the spool', async () => {
    const env = { AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool') };
    const first = startShip(['--port', '1'], env);
    await locked(env);
    await waitFor(() => (holderOrNull(env.AUDIT_SHIP_SPOOL_DIR)?.beat ?? 0) >= 2, 'two heartbeats');
    await first.exit('SIGTERM');
    assert.equal(holderOrNull(env.AUDIT_SHIP_SPOOL_DIR)?.released, true, 'released on exit, the file kept for its room');
  });

  it('locks the checkpoint file too: two runs never share one', async () => {
    const dir = tempDir();
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, new Ledger(5, 1304).text());
    const checkpoint = join(dir, 'cp.json');
    const first = startShip(['--port', '1', '--checkpoint', checkpoint, file]);
    await waitFor(() => existsSync(`${checkpoint}.lock`), 'the first run to lock the checkpoint');
    const second = await runCli(['--port', '1', '--checkpoint', checkpoint, file]);
    assert.equal(second.code, EXIT.failure, second.stderr);
    assert.match(
      second.stderr,
      /the checkpoint .*cp\.json is in use by another audit-ship \(pid \d+ on [^)]+\); give each run its own --checkpoint/,
    );
    await first.exit('SIGTERM');
  });
});
