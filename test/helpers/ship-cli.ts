/** A long-running `audit-ship` child (stdin kept open, a live tail), and what tests read from it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ShipSummary } from '../../src/cli/ship-summary.js';
import { cliEnv, tempDir } from './cli.js';
import { metricSamples } from './ledger.js';
import { CLI } from './paths.js';

export interface ShipChild {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  /** Ends stdin (or signals), waits for the exit, and returns the code. */
  exit: (signal?: NodeJS.Signals) => Promise<number | null>;
}

export function startShip(args: string[], env: NodeJS.ProcessEnv = {}): ShipChild {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: cliEnv(env) });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stdin!.on('error', () => {});
  const exited = once(child, 'exit') as Promise<[number | null]>;
  return {
    child,
    stderr: () => stderr,
    stdout: () => stdout,
    exit: async (signal) => {
      if (signal) child.kill(signal);
      else child.stdin!.end();
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

/**
 * A fake `kubectl` on PATH. Each run appends its arguments to `calls.jsonl`; run N prints the
 * records `script[N]` names (by index into `records`), then either exits with `code` after
 * `tail` (a line cut short), or stays up until killed when the script has no entry for it.
 */
export interface KubectlRun {
  from: number;
  to: number;
  tail?: string;
  code: number;
}

export function fakeKubectl(records: string[], script: KubectlRun[]): { binDir: string; calls: () => string[][] } {
  const binDir = tempDir('audit-ship-kubectl-');
  const state = join(binDir, 'state');
  writeFileSync(join(binDir, 'records.json'), JSON.stringify(records));
  writeFileSync(join(binDir, 'script.json'), JSON.stringify(script));
  writeFileSync(state, '0');
  const program = `#!${process.execPath}
const fs = require('fs');
const dir = ${JSON.stringify(binDir)};
const run = Number(fs.readFileSync(dir + '/state', 'utf8'));
fs.writeFileSync(dir + '/state', String(run + 1));
fs.appendFileSync(dir + '/calls.jsonl', JSON.stringify(process.argv.slice(2)) + '\\n');
const records = JSON.parse(fs.readFileSync(dir + '/records.json', 'utf8'));
const step = JSON.parse(fs.readFileSync(dir + '/script.json', 'utf8'))[run];
if (!step) { process.stderr.write('no more logs\\n'); setInterval(() => {}, 1000); }
else {
  process.stdout.write(records.slice(step.from, step.to).join(''));
  process.stdout.write(step.tail || '', () => { process.stderr.write('stream closed\\n'); process.exit(step.code); });
}
`;
  writeFileSync(join(binDir, 'kubectl'), program);
  chmodSync(join(binDir, 'kubectl'), 0o755);
  const calls = () => {
    try {
      return readFileSync(join(binDir, 'calls.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as string[]);
    } catch {
      return [];
    }
  };
  return { binDir, calls };
}

export interface MeteredShip extends ShipChild {
  /** Scrapes /metrics now. */
  scrape: () => Promise<Map<string, number>>;
  /** Scrapes until records acked reach `count`, and returns that scrape. */
  settled: (count: number) => Promise<Map<string, number>>;
}

/** `startShip` with the metrics endpoint on and a JSON summary, ready once the endpoint is. */
export async function startMeteredShip(args: string[], env: NodeJS.ProcessEnv = {}): Promise<MeteredShip> {
  const ship = startShip([...args, '--metrics-port', '0', '--summary', 'json'], env);
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
  };
}
