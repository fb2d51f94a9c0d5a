/** A long-running `audit-ship` child (stdin kept open, a live tail), and what tests read from it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach } from 'node:test';
import type { ShipSummary } from '../../src/cli/ship-summary.js';
import { cliEnv } from './cli.js';
import { metricSamples } from './ledger.js';
import { CLI } from './paths.js';

export interface ShipChild {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  /** Ends stdin (or signals), waits for the exit, and returns the code. */
  exit: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** How to kill each child a test started and has not seen exit. */
const running = new Map<ChildProcess, () => void>();

// A test that fails before it stops its shipper must not leave it running: the file's process would
// wait for it until the runner's timeout, minutes later, and report a timeout instead of the failure.
afterEach(() => {
  for (const kill of running.values()) kill();
  running.clear();
});

/** Kills `child` after the current test if it is still running then (`kill`: how, SIGKILL by default). */
export function killAfterTest(child: ChildProcess, kill = () => void child.kill('SIGKILL')): void {
  running.set(child, kill);
  child.once('exit', () => running.delete(child));
}

/** The CLI as a child; its stdin a pipe, or the open file `stdinFd` (`audit-ship < FILE`). */
export function startShip(args: string[], env: NodeJS.ProcessEnv = {}, stdinFd?: number): ShipChild {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: [stdinFd ?? 'pipe', 'pipe', 'pipe'], env: cliEnv(env) });
  killAfterTest(child);
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stdin?.on('error', () => {});
  const exited = once(child, 'exit') as Promise<[number | null]>;
  return {
    child,
    stderr: () => stderr,
    stdout: () => stdout,
    exit: async (signal) => {
      if (signal) child.kill(signal);
      else child.stdin?.end();
      const [code] = await exited;
      return code;
    },
  };
}

/** A spool of 64 KB that drops its oldest chunks when full, and chunks of 10 records to fill it fast. */
export const SMALL_DROPPING_SPOOL = ['--spool-overflow', 'drop-oldest', '--spool-max-bytes', '64k', '--chunk-records', '10'];

/** Polls until `condition` holds; fails with `what` after 30 s (a hang, not a timing check). */
export async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Scrapes until `condition` holds on the metrics; fails with `what` after 60 s (a hang, not a timing check). */
export async function scrapeUntil(
  ship: { scrape: () => Promise<Map<string, number>> },
  condition: (m: Map<string, number>) => boolean,
  what: string,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition(await ship.scrape())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The JSON summary that `--summary json` prints as the last line of stderr. */
export function jsonSummary(stderr: string): ShipSummary {
  const last = stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (!last) throw new Error(`no JSON summary in: ${stderr}`);
  return JSON.parse(last) as ShipSummary;
}

export interface MeteredShip extends ShipChild {
  /** Scrapes /metrics now. */
  scrape: () => Promise<Map<string, number>>;
  /** Scrapes until records acked reach `count`, and returns that scrape. */
  settled: (count: number) => Promise<Map<string, number>>;
  /** Asks /readyz until its answer includes `text`. */
  unreadyWith: (text: string) => Promise<void>;
}

/** `startShip` with the metrics endpoint on and a JSON summary, ready once the endpoint is. */
export async function startMeteredShip(args: string[], env: NodeJS.ProcessEnv = {}, stdinFd?: number): Promise<MeteredShip> {
  const ship = startShip([...args, '--metrics-port', '0', '--summary', 'json'], env, stdinFd);
  const address = () => /metrics on (http:\/\/\S+)\/metrics/.exec(ship.stderr())?.[1];
  await waitFor(() => address() !== undefined, 'the metrics endpoint');
  const scrape = async () => metricSamples(await (await fetch(`${address()}/metrics`)).text());
  return {
    ...ship,
    scrape,
    settled: async (count) => {
      for (;;) {
        const m = await scrape();
        if (m.get('audit_ship_records_acked_total') === count && m.get('audit_ship_spool_records') === 0) return m;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    unreadyWith: async (text) => {
      while (!(await (await fetch(`${address()}/readyz`)).text()).includes(text)) await new Promise((resolve) => setTimeout(resolve, 20));
    },
  };
}
