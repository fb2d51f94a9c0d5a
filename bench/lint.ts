/** Lint throughput: `audit-ship lint` against JSON.parse + the ajv-compiled schema, same corpus, same run. */
import { join } from 'node:path';
import { ROOT, CLI } from '../test/helpers/paths.js';
import type { Corpus } from './corpus.js';
import { bestOf, runChild } from './measure.js';

export interface LintRow {
  name: string;
  seconds: number;
  mbPerSecond: number;
  recordsPerSecond: number;
  peakRssMb: number;
}

const BASELINE = join(ROOT, 'dist', 'bench', 'lint-baseline.js');

export async function benchLint(corpus: Corpus, runs: number): Promise<LintRow[]> {
  const rows: LintRow[] = [];
  const cases: [string, string[], string | undefined][] = [
    ['audit-ship lint', ['lint', '--summary', 'json', corpus.path], CLI],
    ['JSON.parse + ajv (baseline)', [BASELINE, corpus.path], undefined],
  ];
  for (const [name, args, command] of cases) {
    const { wall, summary } = await bestOf(runs, () => runChild(args, { command }));
    const invalid = Number(summary.invalid ?? 0);
    if (invalid !== 0) throw new Error(`${name} found ${invalid} invalid records in a valid corpus`);
    rows.push({
      name,
      seconds: wall,
      mbPerSecond: corpus.bytes / 1e6 / wall,
      recordsPerSecond: corpus.records / wall,
      peakRssMb: summary.peakRssBytes / 1e6,
    });
  }
  return rows;
}
