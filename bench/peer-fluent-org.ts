/**
 * Peer: @fluent-org/logger shipping the corpus with acks (PackedForward), as its README suggests.
 * Each line is parsed and emitted with its Timestamp; at most WINDOW emits wait for acks at once.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { EventTime, FluentClient } from '@fluent-org/logger';

const [path, port] = [process.argv[2]!, Number(process.argv[3])];
const WINDOW = 20_000;
const client = new FluentClient('deploy_audit', { socket: { host: '127.0.0.1', port }, ack: {}, eventMode: 'PackedForward' });
const started = performance.now();
let pending: Promise<void>[] = [];
let records = 0;
for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
  const record = JSON.parse(line) as Record<string, unknown>;
  const ms = Date.parse(record.Timestamp as string);
  pending.push(client.emit('peer', record, new EventTime(Math.floor(ms / 1000), (ms % 1000) * 1e6)));
  records++;
  if (pending.length >= WINDOW) {
    await Promise.all(pending);
    pending = [];
  }
}
await Promise.all(pending);
await client.shutdown();
const seconds = (performance.now() - started) / 1000;
process.stderr.write(`${JSON.stringify({ records, seconds, peakRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
