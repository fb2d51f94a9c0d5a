/**
 * A pool of servers: the same file shipped to one counting sink and to two (`--host a,b`), the
 * sinks' counts adding up to the corpus. On two cores the sinks compete with the shipper for the
 * same CPU, so this mostly shows what sharing costs, not what a second aggregator on its own machine
 * would add.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../test/helpers/paths.js';
import type { Corpus } from './corpus.js';
import { runChild, type ChildSummary } from './measure.js';
import { startSink } from './ship.js';

export interface PoolRow {
  sinks: number;
  recordsPerSecond: number;
  shipperCpuUs: number;
  peakRssMb: number;
  /** Each sink's share of the records. */
  shares: number[];
}

async function once(corpus: Corpus, sinks: number): Promise<{ summary: ChildSummary; counts: number[] }> {
  const started = await Promise.all(Array.from({ length: sinks }, () => startSink()));
  const hosts = started.map((s) => `127.0.0.1:${s.port}`).join(',');
  const spool = join(mkdtempSync(join(tmpdir(), 'audit-ship-bench-')), 'spool');
  const { summary } = await runChild(['--host', hosts, '--spool-dir', spool, '--summary', 'json', '--no-progress', corpus.path], {
    command: CLI,
  });
  const counts = (await Promise.all(started.map((s) => s.stop()))).map((c) => c.events);
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== corpus.records) throw new Error(`${sinks} sinks counted ${total} of ${corpus.records} records`);
  return { summary, counts };
}

export async function benchPool(corpus: Corpus, runs: number): Promise<PoolRow[]> {
  const rows: PoolRow[] = [];
  for (const sinks of [1, 2]) {
    let best: Awaited<ReturnType<typeof once>> | null = null;
    for (let i = 0; i < runs; i++) {
      const r = await once(corpus, sinks);
      if (!best || r.summary.seconds < best.summary.seconds) best = r;
      process.stderr.write(`pool of ${sinks}: ${Math.round(corpus.records / r.summary.seconds)} records/s\n`);
    }
    rows.push({
      sinks,
      recordsPerSecond: corpus.records / best!.summary.seconds,
      shipperCpuUs: ((best!.summary.cpuSeconds ?? 0) / corpus.records) * 1e6,
      peakRssMb: best!.summary.peakRssBytes / 1e6,
      shares: best!.counts.map((n) => n / corpus.records),
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
