/**
 * `npm run bench`: every benchmark in one run on the same corpus, printed as a table and written to
 * bench/BENCHMARKS.md. Absolute numbers vary between machines and runs; the ratios are what to compare.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../test/helpers/paths.js';
import { ensureCorpus } from './corpus.js';
import { benchLint, type LintRow } from './lint.js';

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
    lines.push(`| ${r.name} | ${r.mbPerSecond.toFixed(1)} | ${Math.round(r.recordsPerSecond).toLocaleString('en')} | ` +
      `${(r.mbPerSecond / base.mbPerSecond).toFixed(2)}× | ${r.peakRssMb.toFixed(0)} MB |`);
  }
  return lines.join('\n');
}

const corpus = await ensureCorpus(RECORDS);
process.stderr.write(`corpus: ${corpus.records} records, ${(corpus.bytes / 1e6).toFixed(1)} MB (${Math.round(corpus.bytes / corpus.records)} B/record)\n`);
const lint = await benchLint(corpus, RUNS);
const report = [
  '# Benchmarks',
  '',
  `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}. Machine: ${machine()}.`,
  `Corpus: ${corpus.records.toLocaleString('en')} generated audit records (\`audit-ship sample\`), ` +
    `${(corpus.bytes / 1e6).toFixed(1)} MB, ${Math.round(corpus.bytes / corpus.records)} bytes per record on average. ` +
    `Each figure is the best of ${RUNS} runs in a separate process, wall time including start-up.`,
  '',
  '## Lint',
  '',
  'Both read the same file through the same line splitter; the baseline checks each line with',
  '`JSON.parse` and the ajv-compiled JSON Schema that `audit-ship schema` prints.',
  '',
  lintTable(lint),
  '',
].join('\n');
process.stdout.write(`${report}\n`);
writeFileSync(join(ROOT, 'bench', 'BENCHMARKS.md'), report);
