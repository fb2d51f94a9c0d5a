/** Starts `audit-ship receive` as a real child process on a free port, and reads what it wrote. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'node:test';
import { tempDir } from './cli.js';
import { CLI } from './paths.js';
import { formatTimestamp, parseTimestamp } from '../../src/schema/timestamp.js';

export interface ReceivedLine {
  tag: string;
  time: string;
  record: Record<string, unknown>;
}

export interface RunningReceiver {
  port: number;
  child: ChildProcess;
  stderr: () => string;
  /** Events written so far. */
  events: () => ReceivedLine[];
  /** The RequestID of each event written so far, repeats included: what a ledger is checked against. */
  requestIds: () => string[];
  /** Stops the receiver (SIGTERM unless told) and returns its exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** Where the receiver writes its events: a file of its own (the default), or stdout (`--out -`), from `cwd`. */
export interface ReceiveOutput {
  stdout?: boolean;
  cwd?: string;
}

export async function startReceiveCli(
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
  output: ReceiveOutput = {},
): Promise<RunningReceiver> {
  const out = output.stdout ? '-' : join(tempDir('audit-ship-receive-'), 'events.jsonl');
  const child = spawn(process.execPath, [CLI, 'receive', '--port', '0', '--out', out, ...args], {
    stdio: ['ignore', output.stdout ? 'pipe' : 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...env },
    cwd: output.cwd,
  });
  let stdout = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  let stderr = '';
  let timer: NodeJS.Timeout | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /listening on [^\s]+:(\d+)/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`receive exited ${code}: ${stderr}`)));
    // A receiver that never says where it listens fails the test, instead of hanging it; one that
    // does lives as long as its test (the timer is cleared: it killed receivers 30 s after start).
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`receive did not start listening within 30 s: ${stderr}`));
    }, 30_000);
  }).finally(() => clearTimeout(timer));
  // The last piece is '' or a line still being written: only whole lines count.
  const written = () => (output.stdout ? stdout : existsSync(out) ? readFileSync(out, 'utf8') : '');
  const events = () =>
    written()
      .split('\n')
      .slice(0, -1)
      .map((l) => JSON.parse(l) as ReceivedLine);
  return {
    port,
    child,
    stderr: () => stderr,
    events,
    requestIds: () => events().map((e) => e.record.RequestID as string),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

/** A `receiver(args)` for a test file; every receiver it starts is stopped after each test. */
export function receivers(): (args?: string[], env?: NodeJS.ProcessEnv) => Promise<RunningReceiver> {
  const running: RunningReceiver[] = [];
  afterEach(async () => {
    while (running.length) await running.pop()!.stop();
  });
  return async (args = [], env = {}) => {
    const r = await startReceiveCli(args, env);
    running.push(r);
    return r;
  };
}

/**
 * Every record of `sent` (JSON lines) arrived at `r` once, byte-equal as a value, with its
 * Timestamp as the event time to the nanosecond: what a relay through an aggregator must keep.
 */
export function assertRelayed(r: RunningReceiver, sent: readonly string[], context: string): void {
  const byId = new Map(r.events().map((e) => [e.record.RequestID as string, e]));
  assert.equal(byId.size, sent.length, context);
  for (const record of sent.map((l) => JSON.parse(l) as { RequestID: string; Timestamp: string })) {
    const event = byId.get(record.RequestID);
    assert.ok(event, `record ${record.RequestID} arrived`);
    assert.deepEqual(event.record, record);
    const time = parseTimestamp(record.Timestamp);
    assert.ok(time.ok);
    assert.equal(event.time, formatTimestamp(time.seconds, time.nanoseconds), 'the time as sent, to the nanosecond');
  }
}
