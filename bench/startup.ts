/**
 * Start-up: what a user pays before any work, for `--help` and `--version` of the installed CLI's
 * entry point, against a bare `node`. Median wall time of several runs, and peak RSS.
 */
import { spawnSync } from 'node:child_process';
import { CLI, ROOT, THIS_NODE_FIRST } from '../test/helpers/paths.js';

export interface StartupRow {
  name: string;
  medianMs: number;
  peakRssMb: number;
}

/**
 * Prints the process's peak RSS on exit, without touching the program measured. Given in NODE_OPTIONS,
 * which reaches the node that the launcher starts; NODE_OPTIONS reads double quotes as its own.
 */
const REPORT_RSS = "--import=data:text/javascript,process.on('exit',()=>process.stderr.write('\\nmaxrss='+process.resourceUsage().maxRSS))";

/** Runs `command` (the CLI as installed, or node) with `args`. */
function measure(name: string, command: string, args: string[], runs: number): StartupRow {
  const times: number[] = [];
  let rss = 0;
  const env = { ...process.env, PATH: THIS_NODE_FIRST, NODE_OPTIONS: REPORT_RSS };
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    const res = spawnSync(command, args, { encoding: 'utf8', cwd: ROOT, env });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    const kb = Number(/maxrss=(\d+)/.exec(res.stderr)?.[1] ?? 0);
    rss = Math.max(rss, kb);
  }
  times.sort((a, b) => a - b);
  return { name, medianMs: times[Math.floor(times.length / 2)]!, peakRssMb: rss / 1024 };
}

export function benchStartup(runs: number): StartupRow[] {
  return [
    measure('audit-ship --help', CLI, ['--help'], runs),
    measure('audit-ship --version', CLI, ['--version'], runs),
    measure('node -e "" (baseline)', process.execPath, ['-e', ''], runs),
  ];
}

export function startupTable(rows: StartupRow[]): string {
  const lines = ['| command | median wall time | peak RSS |', '| --- | ---: | ---: |'];
  for (const r of rows) lines.push(`| ${r.name} | ${r.medianMs.toFixed(0)} ms | ${r.peakRssMb.toFixed(0)} MB |`);
  return lines.join('\n');
}
