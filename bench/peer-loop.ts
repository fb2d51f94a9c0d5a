/**
 * The loop both peer benchmarks share, so that they differ only in the library: read the corpus
 * (through zlib when it is a .gz) with readline, parse each line, emit it with its Timestamp (to the millisecond), and keep at
 * most WINDOW emits waiting for their acks. Prints the JSON summary the bench driver reads.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { cpuSeconds, peakRssBytes } from '../src/cli/units.js';

const WINDOW = 20_000;

export async function shipCorpus(
  path: string,
  emit: (record: Record<string, unknown>, seconds: number, nanoseconds: number) => Promise<void>,
  close: () => Promise<void>,
): Promise<void> {
  const started = performance.now();
  let pending: Promise<void>[] = [];
  let records = 0;
  // A .gz corpus is read through zlib, as a user of the library would.
  const input = path.endsWith('.gz') ? createReadStream(path).pipe(createGunzip()) : createReadStream(path);
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    const record = JSON.parse(line) as Record<string, unknown>;
    const ms = Date.parse(record.Timestamp as string);
    pending.push(emit(record, Math.floor(ms / 1000), (ms % 1000) * 1e6));
    records++;
    if (pending.length >= WINDOW) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  await close();
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`${JSON.stringify({ records, seconds, peakRssBytes: peakRssBytes(), cpuSeconds: cpuSeconds() })}\n`);
}
