/** Runs a benchmark child process and reads the JSON summary it prints as its last stderr line. */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { THIS_NODE_FIRST } from '../test/helpers/paths.js';

export interface ChildSummary {
  seconds: number;
  peakRssBytes: number;
  /** CPU time, user and system, where the child reports it. */
  cpuSeconds?: number;
  [key: string]: unknown;
}

/**
 * Runs `command` (node by default) with `args`. audit-ship is run as its users run it, as a command
 * (`command: CLI`): its launcher starts node with flags of its own (bin/audit-ship.js). Whatever runs
 * `node` finds this one first on PATH.
 */
export async function runChild(
  args: string[],
  options: { command?: string; stdinFile?: string | string[]; stdinRedirect?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ wall: number; summary: ChildSummary }> {
  const started = process.hrtime.bigint();
  // `< file`: the file itself is the child's stdin, as a shell's redirection gives it.
  const redirect = options.stdinRedirect ? openSync(options.stdinRedirect, 'r') : null;
  const child = spawn(options.command ?? process.execPath, args, {
    stdio: [redirect ?? (options.stdinFile ? 'pipe' : 'ignore'), 'ignore', 'pipe'],
    env: { ...process.env, PATH: THIS_NODE_FIRST, NO_COLOR: '1', ...options.env },
  });
  if (redirect !== null) closeSync(redirect);
  // cat feeds stdin, as `zcat x | audit-ship` would: a Node pipe in this process would take the
  // CPU of the two cores the shipper is measured on.
  if (options.stdinFile && child.stdin) {
    const cat = spawn('cat', ([] as string[]).concat(options.stdinFile), { stdio: ['ignore', child.stdin, 'inherit'] });
    // cat holds its own copy of the pipe: ours must close, or the shipper never sees the end.
    cat.once('spawn', () => child.stdin!.destroy());
  }
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const last = stderr.trim().split('\n').pop() ?? '';
  try {
    return { wall, summary: JSON.parse(last) as ChildSummary };
  } catch {
    throw new Error(`${[options.command ?? 'node', ...args].join(' ')} exited ${code} without a JSON summary:\n${stderr.slice(-2000)}`);
  }
}

/** Best of N: on a noisy 2-core machine the fastest run is the least disturbed one. */
export async function bestOf(n: number, run: () => Promise<{ wall: number; summary: ChildSummary }>) {
  let best: { wall: number; summary: ChildSummary } | undefined;
  for (let i = 0; i < n; i++) {
    const r = await run();
    if (!best || r.wall < best.wall) best = r;
  }
  return best!;
}

/**
 * The fastest of `runs` runs of each of `cases`, the cases taking turns, so that a noisy minute on
 * a shared machine falls on each; in the order of `cases`. `run(c)` ships `records` records as case
 * `c`, which `name(c)` names on stderr as it goes; what it returns beyond the summary (a sink's
 * count) comes back with the fastest run.
 */
export async function fastestOfEach<C, S extends ChildSummary = ChildSummary>(
  runs: number,
  cases: readonly C[],
  records: number,
  name: (c: C) => string,
  run: (c: C) => Promise<S>,
): Promise<Map<C, S>> {
  const best = new Map<C, S>();
  for (let i = 0; i < runs; i++) {
    for (const c of cases) {
      const s = await run(c);
      const cpu = s.cpuSeconds === undefined ? '' : `, ${s.cpuSeconds.toFixed(2)} CPU s`;
      process.stderr.write(`${name(c)}: ${Math.round(records / s.seconds)} records/s${cpu}\n`);
      if (!best.has(c) || s.seconds < best.get(c)!.seconds) best.set(c, s);
    }
  }
  return best;
}
