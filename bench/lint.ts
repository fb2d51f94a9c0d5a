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
  const cases: [string, string[]][] = [
    ['audit-ship lint', [CLI, 'lint', '--summary', 'json', corpus.path]],
    ['JSON.parse + ajv (baseline)', [BASELINE, corpus.path]],
  ];
  for (const [name, args] of cases) {
    const { wall, summary } = await bestOf(runs, () => runChild(args));
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
