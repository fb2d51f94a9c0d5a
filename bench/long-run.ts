/**
 * A long backfill: the corpus TIMES over on stdin, as `cat audit-*.log | audit-ship` would send a
 * month of logs. Its peak RSS beside the corpus sent once says whether memory stays flat with the
 * length of the input.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../test/helpers/paths.js';
import type { Corpus } from './corpus.js';
import { bestOf, runChild } from './measure.js';
import { startSink } from './ship.js';

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
    const sink = await startSink();
    const spool = join(mkdtempSync(join(tmpdir(), 'audit-ship-bench-')), 'spool');
    const run = await runChild(['--port', String(sink.port), '--spool-dir', spool, '--summary', 'json', '--no-progress'], {
      command: CLI,
      stdinFile: Array<string>(TIMES).fill(corpus.path),
    });
    const { events } = await sink.stop();
    if (events !== records) throw new Error(`the corpus ${TIMES} times: the sink counted ${events} of ${records} records`);
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
