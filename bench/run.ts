/**
 * `npm run bench`: every benchmark in one run on the same corpus, printed as a table and written to
 * bench/BENCHMARKS.md. Absolute numbers vary between machines and runs; the ratios are what to compare.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../test/helpers/paths.js';
import { ensureCorpus, ensureGzipCorpus } from './corpus.js';
import { deployed, describeDeployed } from './deployed.js';
import { benchFollowTurns, followTable, WRITES_PER_SECOND, type FollowRow } from './follow.js';
import { benchLint, type LintRow } from './lint.js';
import { benchPool, poolTable } from './pool.js';
import { AS_DEPLOYED_ROW, FLUENT_BIT_ROW, STDIN_ROW, benchShip, type ShipRow } from './ship.js';
import { findFluentBit } from './peer-fluent-bit.js';
import { benchStartup, startupTable } from './startup.js';
import { benchLongRun, longRunNote, TIMES, type LongRunRow } from './long-run.js';
import { benchManyFiles, manyFilesTable } from './many-files.js';
import { benchWorkers, workersTable } from './workers.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 200_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`;
}

function lintTable(rows: LintRow[]): string {
  const base = rows[rows.length - 1]!;
  const lines = ['| validator | MB/s | records/s | vs baseline | peak RSS |', '| --- | ---: | ---: | ---: | ---: |'];
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${r.mbPerSecond.toFixed(1)} | ${Math.round(r.recordsPerSecond).toLocaleString('en')} | ` +
        `${(r.mbPerSecond / base.mbPerSecond).toFixed(2)}× | ${r.peakRssMb.toFixed(0)} MB |`,
    );
  }
  return lines.join('\n');
}

function cpu(r: ShipRow): string {
  return `${r.shipperCpuUs === null ? '–' : r.shipperCpuUs.toFixed(1)} + ${r.sinkCpuUs.toFixed(1)}`;
}

/**
 * Shipper and sink share the machine's cores, so no shipper can beat cores / (its CPU per record
 * + the sink's): the ceiling the CPU column implies.
 */
function ceiling(r: ShipRow): number {
  return (cpus().length * 1e6) / ((r.shipperCpuUs ?? 0) + r.sinkCpuUs);
}

const perCpuSecond = (r: ShipRow, records: number) => (r.shipperCpuSeconds ? records / r.shipperCpuSeconds : null);

function shipTable(rows: ShipRow[], records: number): string {
  const ours = rows[0]!;
  const peer = rows.find((r) => r.name.startsWith('@fluent-org'))!;
  const floor = rows[rows.length - 1]!;
  const lines = [
    '| shipper | records/s | MB/s | vs @fluent-org/logger | vs floor | bytes on the wire | peak RSS | CPU s | records per CPU-second | CPU µs/record: shipper + sink |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const rpc = perCpuSecond(r, records);
    lines.push(
      `| ${r.name} | ${Math.round(r.recordsPerSecond).toLocaleString('en')} | ${r.mbPerSecond.toFixed(1)} | ` +
        `${(r.recordsPerSecond / peer.recordsPerSecond).toFixed(2)}× | ${(r.recordsPerSecond / floor.recordsPerSecond).toFixed(2)} | ` +
        `${(r.wireBytes / 1e6).toFixed(1)} MB | ${r.peakRssMb.toFixed(0)} MB | ${r.shipperCpuSeconds?.toFixed(2) ?? '–'} | ` +
        `${rpc === null ? '–' : Math.round(rpc).toLocaleString('en')} | ${cpu(r)} |`,
    );
  }
  lines.push(
    '',
    `The shipper and the sink share ${cpus().length} cores, so CPU sets a ceiling of cores / (shipper + sink CPU per record): ` +
      `${Math.round(ceiling(ours)).toLocaleString('en')} records/s for audit-ship (file), which runs at ` +
      `${((ours.recordsPerSecond / ceiling(ours)) * 100).toFixed(0)}% of it. ` +
      `The sink alone costs ${ours.sinkCpuUs.toFixed(1)} µs per record.`,
  );
  return lines.join('\n');
}

/** The performance goals, each a ratio measured in this run. */
/** `follows`: the median runs as deployed, one for each pace; each goal holds for all of them, so the costliest is compared. */
function goalsTable(rows: ShipRow[], records: number, follows: FollowRow[], long: LongRunRow): string {
  const row = (prefix: string) => rows.find((r) => r.name.startsWith(prefix)) ?? null;
  const [file, image, stdin, gz, org, orgGz, bit] = [
    row('audit-ship, file (validation'),
    row(AS_DEPLOYED_ROW),
    row(STDIN_ROW),
    row('audit-ship, .gz'),
    row('@fluent-org/logger (PackedForward'),
    row('@fluent-org/logger, .gz'),
    row(FLUENT_BIT_ROW),
  ];
  const lines = ['| goal | measured | met |', '| --- | ---: | :---: |'];
  const goal = (what: string, value: number | null, target: number, unit = '×') =>
    lines.push(
      `| ${what} | ${value === null ? 'not measured' : `${value.toFixed(2)}${unit}`} | ${value === null ? '–' : value >= target ? 'yes' : 'no'} |`,
    );
  const ratio = (a: ShipRow | null, b: ShipRow | null) => (a && b ? a.recordsPerSecond / b.recordsPerSecond : null);
  const cpuRatio = (a: ShipRow | null, b: ShipRow | null) => {
    const [x, y] = [a && perCpuSecond(a, records), b && perCpuSecond(b, records)];
    return x && y ? x / y : null;
  };
  goal('records/s ≥ 4× @fluent-org/logger', ratio(file, org), 4);
  goal('records/s ≥ 3× Fluent Bit', ratio(file, bit), 3);
  goal('records per CPU-second ≥ 2× Fluent Bit', cpuRatio(file, bit), 2);
  goal('stdin ≥ 0.9× the file path', ratio(stdin, file), 0.9);
  goal('.gz ≥ 3× @fluent-org/logger through zlib', ratio(gz, orgGz), 3);
  const follow = follows[0]!;
  const cpu = Math.max(...follows.map((f) => f.shipCpuPercent));
  const rss = Math.max(...follows.map((f) => f.shipPeakRssMb));
  lines.push(
    `| peak RSS ≤ 64 MB (file) | ${file ? `${file.peakRssMb.toFixed(1)} MB` : '–'} | ${file && file.peakRssMb <= 64 ? 'yes' : 'no'} |`,
    `| the same, as the image runs it | ${image ? `${image.peakRssMb.toFixed(1)} MB` : '–'} | ${image && image.peakRssMb <= 64 ? 'yes' : 'no'} |`,
    `| the same, the corpus ${TIMES} times on stdin (${long.records.toLocaleString('en')} records; once: ${stdin ? `${stdin.peakRssMb.toFixed(1)} MB` : '–'}) | ` +
      `${long.peakRssMb.toFixed(1)} MB | ${long.peakRssMb <= 64 ? 'yes' : 'no'} |`,
    `| following ${follow.pods} pods at ${follow.recordsPerSecond / follow.pods} records/s each, as deployed: ≤ 5% of a core (the median of ${follow.shipCpuPercentRuns.length} runs) | ` +
      `${cpu.toFixed(1)}% | ${cpu <= 5 ? 'yes' : 'no'} |`,
    `| the same: ≤ 80 MB | ${rss.toFixed(1)} MB | ${rss <= 80 ? 'yes' : 'no'} |`,
  );
  if (!bit)
    lines.push(
      '',
      'Fluent Bit was skipped: no `fluent-bit` binary (set `FLUENT_BIT=/path` or put one on `PATH`; see docs/performance.md).',
    );
  return lines.join('\n');
}

const corpus = await ensureCorpus(RECORDS);
process.stderr.write(
  `corpus: ${corpus.records} records, ${(corpus.bytes / 1e6).toFixed(1)} MB (${Math.round(corpus.bytes / corpus.records)} B/record)\n`,
);
const lint = await benchLint(corpus, RUNS);
const fluentBit = findFluentBit();
process.stderr.write(
  fluentBit ? `Fluent Bit: ${fluentBit}\n` : 'Fluent Bit: skipped (no fluent-bit binary: FLUENT_BIT=/path or on PATH)\n',
);
// How the image and deploy/kubernetes run the shipper, read once from their files.
const asDeployed = deployed();
const shipping = await benchShip(corpus, await ensureGzipCorpus(corpus), fluentBit, asDeployed, RUNS);
const pool = await benchPool(corpus, RUNS);
const workers = await benchWorkers(corpus, RUNS);
const manyFiles = await benchManyFiles(corpus, RUNS);
const longRun = await benchLongRun(corpus, RUNS);
const startup = await benchStartup(11);
const [followShell, follow, followLines] = (await benchFollowTurns(
  [
    { deployed: null, writesPerSecond: WRITES_PER_SECOND },
    { deployed: asDeployed, writesPerSecond: WRITES_PER_SECOND },
    // A pod that logs each request as it serves it: each line in a write of its own.
    { deployed: asDeployed, writesPerSecond: 200 },
  ],
  RUNS,
)) as [FollowRow, FollowRow, FollowRow];

/** Which form of the CLI the launcher ran: `npm run bench` bundles it first, as `npm pack` does. */
function runsFrom(): string {
  return existsSync(join(ROOT, 'dist', 'bundle', 'main.js'))
    ? 'from the bundle the package ships (`dist/bundle`, made by `npm run bundle`)'
    : 'from the compiled modules (no `dist/bundle`: `npm run bundle` makes the one the package ships)';
}
/** What the soak and the chaos run (not part of this run) last wrote, if they ran. */
const lastWritten = (name: string) => (existsSync(join(ROOT, 'bench', name)) ? readFileSync(join(ROOT, 'bench', name), 'utf8') : '');
const report = [
  '# Benchmarks',
  '',
  `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}. Machine: ${machine()}.`,
  `Corpus: ${corpus.records.toLocaleString('en')} generated audit records (\`audit-ship sample\`), ` +
    `${(corpus.bytes / 1e6).toFixed(1)} MB, ${Math.round(corpus.bytes / corpus.records)} bytes per record on average. ` +
    `Each figure is the best of ${RUNS} runs, each in a fresh process; the cases of a table take turns, run after run, ` +
    "so that each one's best comes from the same minutes of a shared machine as the figures it is compared with " +
    '(following a deployment, a cost over 30 s rather than a best effort, gives the median run).',
  '',
  '## Shipping',
  '',
  'Every shipper sends the whole corpus with acks to the same counting sink (`bench/sink.ts`, its own process,',
  'a fresh one per run), which acks each chunk and counts every event by walking the msgpack; a run counts',
  'only if the sink saw every record. audit-ship runs as installed, the command `bin/audit-ship.js` (its launcher starts',
  `node with \`--no-concurrent-recompilation\`) ${runsFrom()}, with its defaults: validation, acks, and the disk spool`,
  'with an fsync per chunk. The Node peers parse each line with `JSON.parse` and emit it, without validation;',
  'Fluent Bit parses each line with its JSON parser and keeps its default memory buffer, timed from its start to the',
  "sink's last event (its exit waits out a flush interval and a grace period).",
  "Times are each client's own, from its first read to its last ack. CPU is each process's user and system time,",
  'all threads, per record: whole processes for audit-ship, the peers and the sink, the timed part only for the floor.',
  `"${AS_DEPLOYED_ROW}" is the file run as the container runs audit-ship: ${describeDeployed(asDeployed)}`,
  "(node's flags from the image's ENTRYPOINT, NODE_OPTIONS from deploy/kubernetes; docs/performance.md says why).",
  '',
  shipTable(shipping, corpus.records),
  '',
  '### Goals',
  '',
  goalsTable(shipping, corpus.records, [follow, followLines], longRun),
  '',
  longRunNote(
    longRun,
    shipping.find((r) => r.name === STDIN_ROW) ?? null,
    shipping.find((r) => r.name === FLUENT_BIT_ROW) ?? null,
    corpus.records,
  ),
  '',
  '## Several servers',
  '',
  'The same file to one counting sink and to two (`--host a,b`, equal weights), audit-ship with its defaults. The sinks',
  'run on the same two cores as the shipper, so this shows what sharing the chunks costs, not what a second aggregator',
  'on its own machine would add.',
  '',
  poolTable(pool),
  '',
  '## A backfill of rotated files',
  '',
  `The corpus as four gzip files (a quarter each), shipped with \`--workers 1\` and \`--workers 2\` to one counting sink. CPU s is`,
  "audit-ship's, all threads; cores busy is CPU s per second of the run. The sink runs on the same two cores, so a second",
  'worker gains what the sink leaves free, not what it would with Fluentd on its own machine.',
  '',
  workersTable(workers),
  '',
  '## Many small files',
  '',
  `The corpus as one file and as ${manyFiles[1]?.name ?? 'many files'} of consecutive lines (plain text), with one reader, without and with`,
  '`--checkpoint`: what a file costs beyond its records (its opening and check, the chunk it shares with the next file, its',
  'checkpoint entry); with two workers, each given small files several at a time; and the same as gzip, as a directory of',
  'rotated logs is, against the corpus as one .gz file. docs/performance.md has the figures before these costs were cut.',
  '',
  manyFilesTable(manyFiles),
  '',
  '## Lint',
  '',
  'Wall time including start-up. Both read the same file through the same line splitter; the baseline checks each line with',
  '`JSON.parse` and the ajv-compiled JSON Schema that `audit-ship schema` prints.',
  '',
  lintTable(lint),
  '',
  '## Following a deployment',
  '',
  `\`--kubectl deploy/NAME\` with the real kubectl, against the fake API server of the tests: ${follow.pods} pods writing`,
  `${(follow.recordsPerSecond / follow.pods).toLocaleString('en')} audit records a second each (${follow.recordsPerSecond.toLocaleString('en')} records/s together) for ${follow.seconds.toFixed(0)} s,`,
  `${follow.records.toLocaleString('en')} records, every one counted by the sink. CPU from the moment every stream is open (start-up spawns`,
  'one kubectl per pod); kubectl memory as proportional set size, so the pages of the kubectl binary they share count once.',
  "Each pod's records come in 20 writes a second, from a shell and as `deploy/kubernetes` runs it, with node's flags from the",
  "image's ENTRYPOINT and the `NODE_OPTIONS` of its Deployment (optimised code compiled on the main thread, and a small young",
  "generation: a live tail needs no room for a backfill's allocation rate); then as deployed",
  'with each line in a write of its own, as a pod that logs each request when it serves it writes them. Each case runs',
  `${follow.shipCpuPercentRuns.length} times, the cases taking turns; a row gives the run of median audit-ship CPU (its kubectl, µs and memory`,
  'are from that run) and the CPU of every run. The goal rows show the higher median CPU and the higher peak RSS of the two',
  'paces as deployed.',
  '',
  followTable([followShell, follow, followLines]),
  '',
  '## Start-up',
  '',
  'What the CLI costs before any work, and for the small jobs a cron runs every few minutes: the entry point the installed package',
  'runs, 11 runs each (median wall time and CPU, user and system), against a bare `node`.',
  '',
  startupTable(startup),
  '',
  lastWritten('SOAK.md'),
  lastWritten('CHAOS.md'),
].join('\n');
process.stdout.write(`${report}\n`);
writeFileSync(join(ROOT, 'bench', 'BENCHMARKS.md'), report);
