/**
 * A backfill of rotated files: the corpus as four .gz files (a quarter each, as logrotate leaves
 * them), shipped with --workers 1 and 2 to one counting sink. On two cores the sink competes with
 * the shipper's threads for the same CPU, so this shows how much of a second core a backfill
 * takes, not what it would gain with Fluentd on another machine.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGzip } from 'node:zlib';
import type { Corpus } from './corpus.js';
import { fastestOfEach, type ChildSummary } from './measure.js';
import { shipIntoSink } from './ship.js';

const FILES = 4;

export interface WorkersRow {
  workers: number;
  recordsPerSecond: number;
  cpuSeconds: number;
  /** CPU seconds per second of the run: how many cores it kept busy. */
  cores: number;
  peakRssMb: number;
}

/** The corpus cut into FILES gzip files of consecutive lines. */
async function rotatedFiles(corpus: Corpus): Promise<string[]> {
  const dir = `${corpus.path}.rotated`;
  const files = Array.from({ length: FILES }, (_, i) => join(dir, `audit.log.${FILES - i}.gz`));
  if (files.every((f) => existsSync(f))) return files;
  mkdirSync(dir, { recursive: true });
  const perFile = Math.ceil(corpus.records / FILES);
  let n = 0;
  let out: ReturnType<typeof createGzip> | null = null;
  let done: Promise<unknown> = Promise.resolve();
  for await (const line of createInterface({ input: createReadStream(corpus.path) })) {
    if (n % perFile === 0) {
      out?.end();
      await done;
      const file = files[n / perFile]!;
      out = createGzip();
      const sink = createWriteStream(`${file}.partial`);
      out.pipe(sink);
      done = once(sink, 'close').then(() => renameSync(`${file}.partial`, file));
    }
    if (!out!.write(`${line}\n`)) await once(out!, 'drain');
    n++;
  }
  out?.end();
  await done;
  return files;
}

async function once1(files: string[], corpus: Corpus, workers: number): Promise<ChildSummary> {
  const run = await shipIntoSink(corpus.records, `--workers ${workers}`, () => ['--workers', String(workers), ...files]);
  return run.summary;
}

export async function benchWorkers(corpus: Corpus, runs: number): Promise<WorkersRow[]> {
  const files = await rotatedFiles(corpus);
  const best = await fastestOfEach(
    runs,
    [1, 2],
    corpus.records,
    (workers) => `--workers ${workers}`,
    (workers) => once1(files, corpus, workers),
  );
  return [...best].map(([workers, s]) => ({
    workers,
    recordsPerSecond: corpus.records / s.seconds,
    cpuSeconds: s.cpuSeconds ?? 0,
    cores: (s.cpuSeconds ?? 0) / s.seconds,
    peakRssMb: s.peakRssBytes / 1e6,
  }));
}

export function workersTable(rows: WorkersRow[]): string {
  const one = rows[0]!;
  const lines = ['| --workers | records/s | vs 1 | CPU s | cores busy | peak RSS |', '| ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const r of rows) {
    lines.push(
      `| ${r.workers} | ${Math.round(r.recordsPerSecond).toLocaleString('en')} | ${(r.recordsPerSecond / one.recordsPerSecond).toFixed(2)}× | ` +
        `${r.cpuSeconds.toFixed(2)} | ${r.cores.toFixed(2)} | ${r.peakRssMb.toFixed(0)} MB |`,
    );
  }
  return lines.join('\n');
}
