/**
 * Shipping throughput: audit-ship and its peers send the same corpus, with acks, to the same fast
 * counting sink (a fresh one per run). Each client times its own work and reports it as JSON; the
 * sink's count must equal the corpus, or the run does not count.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { CLI, ROOT } from '../test/helpers/paths.js';
import type { Corpus } from './corpus.js';
import type { Deployed } from './deployed.js';
import { fastestOfEach, runChild, type ChildSummary } from './measure.js';
import { tempDir } from '../test/helpers/cli.js';

export interface ShipRow {
  name: string;
  recordsPerSecond: number;
  mbPerSecond: number;
  peakRssMb: number;
  /** Bytes the sink read off the socket. */
  wireBytes: number;
  /** CPU time per record, in microseconds, of the shipper (null if it does not say) and of the sink. */
  shipperCpuUs: number | null;
  sinkCpuUs: number;
  /** CPU seconds of the shipper for the whole corpus, user + system (null if it does not say). */
  shipperCpuSeconds: number | null;
}

const bench = (file: string) => join(ROOT, 'dist', 'bench', file);

interface SinkCount {
  events: number;
  bytes: number;
  cpuSeconds: number;
  lastEventAt: number;
}

export async function startSink(): Promise<{ port: number; stop: () => Promise<SinkCount> }> {
  const child = spawn(process.execPath, [bench('sink.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  while (!out.includes('\n')) await once(child.stdout, 'data');
  const port = Number(out.trim());
  return {
    port,
    stop: async () => {
      const closed = once(child, 'close');
      child.kill('SIGTERM');
      await closed;
      return JSON.parse(out.trim().split('\n').pop()!) as SinkCount;
    },
  };
}

/**
 * One run of the installed CLI into a fresh counting sink, with a spool of its own and a JSON
 * summary: `args(dir)` are its other arguments (`dir`, a fresh directory for files it writes, such
 * as a checkpoint). Throws unless the sink counted `records`, naming the run as `what`.
 */
export async function shipIntoSink(
  records: number,
  what: string,
  args: (dir: string) => string[],
  options: { stdinFile?: string | string[] } = {},
): Promise<{ wall: number; summary: ChildSummary }> {
  const sink = await startSink();
  const dir = tempDir('audit-ship-bench-');
  const own = ['--port', String(sink.port), '--spool-dir', join(dir, 'spool'), '--summary', 'json', '--no-progress'];
  const run = await runChild([...own, ...args(dir)], { command: CLI, ...options });
  const { events } = await sink.stop();
  if (events !== records) throw new Error(`${what}: the sink counted ${events} of ${records} records`);
  return run;
}

type Case = [
  string,
  (port: number) => { command?: string; args: string[]; stdinFile?: string; stdinRedirect?: string; env?: NodeJS.ProcessEnv },
];

export const FLUENT_BIT_ROW = 'Fluent Bit (tail → forward, acks, memory buffer)';
export const AS_DEPLOYED_ROW = 'audit-ship, file, as the image runs it';
export const STDIN_ROW = 'audit-ship, stdin';

export async function benchShip(
  corpus: Corpus,
  gzPath: string,
  fluentBit: string | null,
  asDeployed: Deployed,
  runs: number,
): Promise<ShipRow[]> {
  const spool = () => ['--spool-dir', join(tempDir('audit-ship-bench-'), 'spool')];
  // audit-ship's arguments, for the command as installed (`command: CLI`).
  const ship = (port: number, extra: string[] = []) => ['--port', String(port), ...spool(), '--summary', 'json', '--no-progress', ...extra];
  const cases: Case[] = [
    ['audit-ship, file (validation, acks, spool)', (p) => ({ command: CLI, args: ship(p, [corpus.path]) })],
    [
      AS_DEPLOYED_ROW,
      (p) => ({ args: [...asDeployed.nodeArgs, CLI, ...ship(p, [corpus.path])], env: { NODE_OPTIONS: asDeployed.nodeOptions } }),
    ],
    [STDIN_ROW, (p) => ({ command: CLI, args: ship(p), stdinFile: corpus.path })],
    ['audit-ship, stdin < file', (p) => ({ command: CLI, args: ship(p), stdinRedirect: corpus.path })],
    ['audit-ship, .gz file', (p) => ({ command: CLI, args: ship(p, [gzPath]) })],
    ['audit-ship, file, --compress gzip', (p) => ({ command: CLI, args: ship(p, ['--compress', 'gzip', corpus.path]) })],
    [
      'audit-ship, file, --compress gzip --compress-level 1',
      (p) => ({ command: CLI, args: ship(p, ['--compress', 'gzip', '--compress-level', '1', corpus.path]) }),
    ],
    ['@fluent-org/logger (PackedForward, acks)', (p) => ({ args: [bench('peer-fluent-org.js'), corpus.path, String(p)] })],
    ['@fluent-org/logger, .gz through zlib', (p) => ({ args: [bench('peer-fluent-org.js'), gzPath, String(p)] })],
    ...(fluentBit
      ? [[FLUENT_BIT_ROW, (p: number) => ({ args: [bench('peer-fluent-bit.js'), fluentBit, corpus.path, String(p)] })] as Case]
      : []),
    ['fluent-logger (PackedForward, acks)', (p) => ({ args: [bench('peer-fluent-logger.js'), corpus.path, String(p)] })],
    ['floor: pre-encoded chunks straight to the sink', (p) => ({ args: [bench('floor.js'), corpus.path, String(p)] })],
  ];
  // The shippers take turns, run after run: each one's best then comes from the same minutes of a
  // shared machine as its peers', and their ratios compare like with like.
  const best = await fastestOfEach(
    runs,
    cases,
    corpus.records,
    ([name]) => name,
    async ([name, make]) => {
      const sink = await startSink();
      const { args, ...options } = make(sink.port);
      const { summary } = await runChild(args, options);
      const counted = await sink.stop();
      // A peer that says when it started is timed to the sink's last event (see peer-fluent-bit.ts).
      if (typeof summary.startedAt === 'number') summary.seconds = (counted.lastEventAt - summary.startedAt) / 1000;
      if (counted.events !== corpus.records) throw new Error(`${name}: the sink counted ${counted.events} of ${corpus.records} records`);
      return { ...summary, sink: counted };
    },
  );
  const rows: ShipRow[] = [];
  for (const [[name], run] of best) {
    rows.push({
      name,
      recordsPerSecond: corpus.records / run.seconds,
      mbPerSecond: corpus.bytes / 1e6 / run.seconds,
      peakRssMb: run.peakRssBytes / 1e6,
      wireBytes: run.sink.bytes,
      shipperCpuUs: run.cpuSeconds === undefined ? null : (run.cpuSeconds / corpus.records) * 1e6,
      sinkCpuUs: (run.sink.cpuSeconds / corpus.records) * 1e6,
      shipperCpuSeconds: run.cpuSeconds ?? null,
    });
  }
  return rows;
}
