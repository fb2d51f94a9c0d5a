/**
 * Start-up: what a user pays before any work, for `--help` and `--version` of the installed CLI's
 * entry point, and for the small jobs a cron runs every few minutes (`lint` of 100 records, and
 * shipping them to a sink), against a bare `node`. Median wall time and CPU of several runs, and peak RSS.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI, ROOT, THIS_NODE_FIRST } from '../test/helpers/paths.js';
import { ensureCorpus } from './corpus.js';
import { startSink } from './ship.js';
import { tempDir } from '../test/helpers/cli.js';

export interface StartupRow {
  name: string;
  medianMs: number;
  medianCpuMs: number;
  peakRssMb: number;
}

/** Records in the small jobs' file. */
const SMALL = 100;

/**
 * Prints the process's peak RSS and CPU time on exit, without touching the program measured. Given
 * in NODE_OPTIONS, which reaches the node that the launcher starts; NODE_OPTIONS reads double quotes as its own
 * and splits at spaces, hence none.
 */
const REPORT =
  "--import=data:text/javascript,process.on('exit',(c,u=process.resourceUsage())=>process.stderr.write('\\nmaxrss='+u.maxRSS+'/cpu='+(u.userCPUTime+u.systemCPUTime)))";

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Runs `command` (the CLI as installed, or node) with `args(i)`; each run must succeed. */
function measure(name: string, command: string, args: (run: number) => string[], runs: number): StartupRow {
  const times: number[] = [];
  const cpu: number[] = [];
  let rss = 0;
  const env = { ...process.env, PATH: THIS_NODE_FIRST, NODE_OPTIONS: REPORT };
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    const res = spawnSync(command, args(i), { encoding: 'utf8', cwd: ROOT, env });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (res.status !== 0) throw new Error(`${name}: exit ${res.status}: ${res.stderr}`);
    const m = /maxrss=(\d+)\/cpu=(\d+)/.exec(res.stderr);
    if (!m) throw new Error(`${name}: no report of its resources: ${res.stderr}`);
    rss = Math.max(rss, Number(m[1]));
    cpu.push(Number(m[2]) / 1000);
  }
  return { name, medianMs: median(times), medianCpuMs: median(cpu), peakRssMb: rss / 1024 };
}

export async function benchStartup(runs: number): Promise<StartupRow[]> {
  const dir = tempDir('audit-ship-bench-start-');
  const small = (await ensureCorpus(SMALL)).path;
  const sink = await startSink();
  const ship = (i: number) => ['--port', String(sink.port), '--spool-dir', join(dir, `spool-${i}`), '--summary', 'none', small];
  const rows = [
    measure('audit-ship --help', CLI, () => ['--help'], runs),
    measure('audit-ship --version', CLI, () => ['--version'], runs),
    measure(`audit-ship lint, a file of ${SMALL} records`, CLI, () => ['lint', '--summary', 'none', small], runs),
    measure(`audit-ship, a file of ${SMALL} records to the sink (a cron job's run)`, CLI, ship, runs),
    measure('node -e "" (baseline)', process.execPath, () => ['-e', ''], runs),
  ];
  const { events } = await sink.stop();
  if (events !== SMALL * runs) throw new Error(`start-up: the sink counted ${events} of ${SMALL * runs} records`);
  return rows;
}

export function startupTable(rows: StartupRow[]): string {
  const lines = ['| command | median wall time | median CPU | peak RSS |', '| --- | ---: | ---: | ---: |'];
  for (const r of rows) {
    lines.push(`| ${r.name} | ${r.medianMs.toFixed(0)} ms | ${r.medianCpuMs.toFixed(0)} ms | ${r.peakRssMb.toFixed(0)} MB |`);
  }
  return lines.join('\n');
}
