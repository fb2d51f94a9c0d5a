/**
 * A long backfill: the corpus TIMES over on stdin, as `cat audit-*.log | audit-ship` would send a
 * month of logs. Its peak RSS beside the corpus sent once says whether memory stays flat with the
 * length of the input.
 */
import type { Corpus } from './corpus.js';
import { bestOf } from './measure.js';
import { shipIntoSink } from './ship.js';

export const TIMES = 10;

export interface LongRunRow {
  records: number;
  recordsPerSecond: number;
  cpuSeconds: number;
  peakRssMb: number;
}

export async function benchLongRun(corpus: Corpus, runs: number): Promise<LongRunRow> {
  const records = corpus.records * TIMES;
  const { summary } = await bestOf(runs, async () => {
    const run = await shipIntoSink(records, `the corpus ${TIMES} times`, () => [], { stdinFile: Array<string>(TIMES).fill(corpus.path) });
    process.stderr.write(`the corpus ${TIMES} times on stdin: ${Math.round(records / run.summary.seconds)} records/s\n`);
    return run;
  });
  return {
    records,
    recordsPerSecond: records / summary.seconds,
    cpuSeconds: summary.cpuSeconds ?? 0,
    peakRssMb: summary.peakRssBytes / 1e6,
  };
}
