/**
 * A pool of servers: the same file shipped to one counting sink and to two (`--host a,b`), the
 * sinks' counts adding up to the corpus. On two cores the sinks compete with the shipper for the
 * same CPU, so this mostly shows what sharing costs, not what a second aggregator on its own machine
 * would add.
 */
import { join } from 'node:path';
import { CLI } from '../test/helpers/paths.js';
import type { Corpus } from './corpus.js';
import { fastestOfEach, runChild, type ChildSummary } from './measure.js';
import { startSink } from './ship.js';
import { tempDir } from '../test/helpers/cli.js';

export interface PoolRow {
  sinks: number;
  recordsPerSecond: number;
  shipperCpuUs: number;
  peakRssMb: number;
  /** Each sink's share of the records. */
  shares: number[];
}

async function once(corpus: Corpus, sinks: number): Promise<ChildSummary & { counts: number[] }> {
  const started = await Promise.all(Array.from({ length: sinks }, () => startSink()));
  const hosts = started.map((s) => `127.0.0.1:${s.port}`).join(',');
  const spool = join(tempDir('audit-ship-bench-'), 'spool');
  const { summary } = await runChild(['--host', hosts, '--spool-dir', spool, '--summary', 'json', '--no-progress', corpus.path], {
    command: CLI,
  });
  const counts = (await Promise.all(started.map((s) => s.stop()))).map((c) => c.events);
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== corpus.records) throw new Error(`${sinks} sinks counted ${total} of ${corpus.records} records`);
  return { ...summary, counts };
}

export async function benchPool(corpus: Corpus, runs: number): Promise<PoolRow[]> {
  const best = await fastestOfEach(
    runs,
    [1, 2],
    corpus.records,
    (sinks) => `pool of ${sinks}`,
    (sinks) => once(corpus, sinks),
  );
  const rows: PoolRow[] = [];
  for (const [sinks, run] of best) {
    rows.push({
      sinks,
      recordsPerSecond: corpus.records / run.seconds,
      shipperCpuUs: ((run.cpuSeconds ?? 0) / corpus.records) * 1e6,
      peakRssMb: run.peakRssBytes / 1e6,
      shares: run.counts.map((n) => n / corpus.records),
    });
  }
  return rows;
}

export function poolTable(rows: PoolRow[]): string {
  const one = rows[0]!;
  const lines = ['| servers | records/s | vs one | CPU µs/record | peak RSS | shares |', '| ---: | ---: | ---: | ---: | ---: | --- |'];
  for (const r of rows) {
    lines.push(
      `| ${r.sinks} | ${Math.round(r.recordsPerSecond).toLocaleString('en')} | ${(r.recordsPerSecond / one.recordsPerSecond).toFixed(2)}× | ` +
        `${r.shipperCpuUs.toFixed(1)} | ${r.peakRssMb.toFixed(0)} MB | ${r.shares.map((s) => `${(s * 100).toFixed(1)}%`).join(' / ')} |`,
    );
  }
  return lines.join('\n');
}
