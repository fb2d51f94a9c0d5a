/**
 * Many small files: the corpus as one file and cut into FILES plain files of consecutive lines,
 * with one reader, without and with --checkpoint. What a file costs beyond its records: its
 * opening, the chunk it shares with the next one, and its entry in the checkpoint.
 */
import { createReadStream, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Corpus } from './corpus.js';
import type { ChildSummary } from './measure.js';
import { shipIntoSink } from './ship.js';

const FILES = 400;

export interface ManyFilesRow {
  name: string;
  recordsPerSecond: number;
  cpuSeconds: number;
  peakRssMb: number;
}

/** The corpus cut into FILES files of consecutive lines, made once beside it. */
async function smallFiles(corpus: Corpus): Promise<string[]> {
  const dir = `${corpus.path}.split-${FILES}`;
  const files = Array.from({ length: FILES }, (_, i) => join(dir, `audit-${String(i).padStart(4, '0')}.log`));
  if (files.every((f) => existsSync(f))) return files;
  mkdirSync(dir, { recursive: true });
  const perFile = Math.ceil(corpus.records / FILES);
  let lines: string[] = [];
  let n = 0;
  const flush = () => {
    const file = files[Math.floor((n - 1) / perFile)]!;
    writeFileSync(`${file}.partial`, lines.join(''));
    renameSync(`${file}.partial`, file);
    lines = [];
  };
  for await (const line of createInterface({ input: createReadStream(corpus.path) })) {
    lines.push(`${line}\n`);
    n++;
    if (n % perFile === 0) flush();
  }
  if (lines.length > 0) flush();
  return files;
}

async function once(corpus: Corpus, files: string[], checkpoint: boolean): Promise<ChildSummary> {
  const checkpointArgs = (dir: string) => (checkpoint ? ['--checkpoint', join(dir, 'checkpoint.json')] : []);
  const run = await shipIntoSink(corpus.records, `${files.length} files`, (dir) => [...checkpointArgs(dir), ...files]);
  return run.summary;
}

export async function benchManyFiles(corpus: Corpus, runs: number): Promise<ManyFilesRow[]> {
  const files = await smallFiles(corpus);
  const cases: [string, string[], boolean][] = [
    ['one file', [corpus.path], false],
    [`${FILES} files`, files, false],
    [`${FILES} files, --checkpoint`, files, true],
  ];
  const best = new Map<string, ChildSummary>();
  // Alternated, so that a noisy minute on a shared machine falls on each.
  for (let i = 0; i < runs; i++) {
    for (const [name, inputs, checkpoint] of cases) {
      const s = await once(corpus, inputs, checkpoint);
      process.stderr.write(`${name}: ${Math.round(corpus.records / s.seconds)} records/s\n`);
      if (!best.has(name) || s.seconds < best.get(name)!.seconds) best.set(name, s);
    }
  }
  return [...best].map(([name, s]) => ({
    name,
    recordsPerSecond: corpus.records / s.seconds,
    cpuSeconds: s.cpuSeconds ?? 0,
    peakRssMb: s.peakRssBytes / 1e6,
  }));
}

export function manyFilesTable(rows: ManyFilesRow[]): string {
  const one = rows[0]!;
  const lines = ['| input | records/s | vs one file | CPU s | peak RSS |', '| --- | ---: | ---: | ---: | ---: |'];
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${Math.round(r.recordsPerSecond).toLocaleString('en')} | ${(r.recordsPerSecond / one.recordsPerSecond).toFixed(2)}× | ` +
        `${r.cpuSeconds.toFixed(2)} | ${r.peakRssMb.toFixed(1)} MB |`,
    );
  }
  return lines.join('\n');
}
