/** Lint throughput: `audit-ship lint` against JSON.parse + the ajv-compiled schema, same corpus, same run. */
import { join } from 'node:path';
import { ROOT, CLI } from '../test/helpers/paths.js';
import type { Corpus } from './corpus.js';
import { fastestOfEach, runChild } from './measure.js';

export interface LintRow {
  name: string;
  seconds: number;
  mbPerSecond: number;
  recordsPerSecond: number;
  peakRssMb: number;
}

const BASELINE = join(ROOT, 'dist', 'bench', 'lint-baseline.js');

export async function benchLint(corpus: Corpus, runs: number): Promise<LintRow[]> {
  const cases: [string, string[], string | undefined][] = [
    ['audit-ship lint', ['lint', '--summary', 'json', corpus.path], CLI],
    ['JSON.parse + ajv (baseline)', [BASELINE, corpus.path], undefined],
  ];
  const best = await fastestOfEach(
    runs,
    cases,
    corpus.records,
    ([name]) => name,
    async ([name, args, command]) => {
      const { wall, summary } = await runChild(args, { command });
      const invalid = Number(summary.invalid ?? 0);
      if (invalid !== 0) throw new Error(`${name} found ${invalid} invalid records in a valid corpus`);
      // Wall time, start-up included: what a CI job waits for.
      return { ...summary, seconds: wall };
    },
  );
  return [...best].map(([[name], s]) => ({
    name,
    seconds: s.seconds,
    mbPerSecond: corpus.bytes / 1e6 / s.seconds,
    recordsPerSecond: corpus.records / s.seconds,
    peakRssMb: s.peakRssBytes / 1e6,
  }));
}
