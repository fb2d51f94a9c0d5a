/**
 * Many small files: the corpus as one file and cut into FILES plain files of consecutive lines,
 * with one reader, without and with --checkpoint, and with two workers; and the same as gzip, one
 * .gz file against FILES of them, as a directory of rotated logs is. What a file costs beyond its
 * records: its opening, its check, the chunk it shares with the next one, its entry in the
 * checkpoint, its gunzip; and whether a second worker, given small files several at a time, keeps up.
 */
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import { ensureGzipCorpus, type Corpus } from './corpus.js';
import { fastestOfEach, type ChildSummary } from './measure.js';
import { shipIntoSink } from './ship.js';

const FILES = 400;

export interface ManyFilesRow {
  name: string;
  /** The row it is compared with: the same records in one file, plain or gzip as it is. */
  base: string;
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

/** The FILES files gzipped (level 6, as logrotate's compress), made once beside them. */
function gzipped(files: string[]): string[] {
  const dir = `${files[0]!.slice(0, files[0]!.lastIndexOf('/'))}-gz`;
  mkdirSync(dir, { recursive: true });
  return files.map((file) => {
    const path = join(dir, `${basename(file)}.gz`);
    if (!existsSync(path)) {
      writeFileSync(`${path}.partial`, gzipSync(readFileSync(file)));
      renameSync(`${path}.partial`, path);
    }
    return path;
  });
}

/** How a case is run: with a checkpoint in the run's directory, and with what other options. */
interface Variant {
  checkpoint: boolean;
  args: string[];
}

async function once(corpus: Corpus, files: string[], { checkpoint, args }: Variant): Promise<ChildSummary> {
  const checkpointArgs = (dir: string) => (checkpoint ? ['--checkpoint', join(dir, 'checkpoint.json')] : []);
  const run = await shipIntoSink(corpus.records, `${files.length} files`, (dir) => [...checkpointArgs(dir), ...args, ...files]);
  return run.summary;
}

export async function benchManyFiles(corpus: Corpus, runs: number): Promise<ManyFilesRow[]> {
  const files = await smallFiles(corpus);
  const oneReader = ['--workers', '1'];
  const plain = { checkpoint: false, args: oneReader };
  const cases: [string, string[], Variant, string][] = [
    ['one file', [corpus.path], plain, 'one file'],
    [`${FILES} files`, files, plain, 'one file'],
    [`${FILES} files, --checkpoint`, files, { checkpoint: true, args: oneReader }, 'one file'],
    [`${FILES} files, --workers 2`, files, { checkpoint: false, args: ['--workers', '2'] }, 'one file'],
    ['one .gz file', [await ensureGzipCorpus(corpus)], plain, 'one .gz file'],
    [`${FILES} .gz files`, gzipped(files), plain, 'one .gz file'],
  ];
  const best = await fastestOfEach(
    runs,
    cases,
    corpus.records,
    ([name]) => name,
    ([, inputs, variant]) => once(corpus, inputs, variant),
  );
  return [...best].map(([[name, , , base], s]) => ({
    name,
    base,
    recordsPerSecond: corpus.records / s.seconds,
    cpuSeconds: s.cpuSeconds ?? 0,
    peakRssMb: s.peakRssBytes / 1e6,
  }));
}

export function manyFilesTable(rows: ManyFilesRow[]): string {
  const lines = ['| input | records/s | vs one file | CPU s | peak RSS |', '| --- | ---: | ---: | ---: | ---: |'];
  for (const r of rows) {
    const one = rows.find((b) => b.name === r.base) ?? r;
    lines.push(
      `| ${r.name} | ${Math.round(r.recordsPerSecond).toLocaleString('en')} | ${(r.recordsPerSecond / one.recordsPerSecond).toFixed(2)}× | ` +
        `${r.cpuSeconds.toFixed(2)} | ${r.peakRssMb.toFixed(1)} MB |`,
    );
  }
  return lines.join('\n');
}
