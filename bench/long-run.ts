/**
 * A long backfill: the corpus TIMES over on stdin, as `cat audit-*.log | audit-ship` would send a
 * month of logs. Its peak RSS beside the corpus sent once says whether memory stays flat with the
 * length of the input.
 */
import type { Corpus } from './corpus.js';
import { bestOf } from './measure.js';
import { shipIntoSink, type ShipRow } from './ship.js';

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

/**
 * What a record costs once start-up and warm-up are paid: the CPU the long run took beyond the
 * corpus once on stdin, per record beyond it. `once` is the stdin row of the shipping table and
 * `peer` Fluent Bit's row (null when it was skipped), whose cost per record is given beside it.
 */
export function longRunNote(long: LongRunRow, once: ShipRow | null, peer: ShipRow | null, records: number): string {
  if (once?.shipperCpuSeconds == null) return '';
  const us = (cpu: number, n: number) => ((cpu / n) * 1e6).toFixed(1);
  return (
    `Start-up and warm-up are paid once a run: the corpus ${TIMES} times on stdin (${long.records.toLocaleString('en')} records) ` +
    `took ${long.cpuSeconds.toFixed(2)} CPU s, ${us(long.cpuSeconds, long.records)} µs a record, against ` +
    `${us(once.shipperCpuSeconds, records)} for the corpus once; each record beyond the first ${records.toLocaleString('en')} ` +
    `cost ${us(long.cpuSeconds - once.shipperCpuSeconds, long.records - records)} µs` +
    (peer?.shipperCpuSeconds ? ` (Fluent Bit over the corpus once: ${us(peer.shipperCpuSeconds, records)} µs a record).` : '.')
  );
}
