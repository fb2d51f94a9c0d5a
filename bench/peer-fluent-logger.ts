/**
 * Peer: fluent-logger shipping the corpus with requireAckResponse in PackedForward mode. Each line
 * is parsed and emitted; at most WINDOW emits wait for their callbacks at once.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import fluentLogger from 'fluent-logger';

const [path, port] = [process.argv[2]!, Number(process.argv[3])];
const WINDOW = 20_000;
const sender = fluentLogger.createFluentSender('deploy_audit', {
  host: '127.0.0.1', port, timeout: 30, requireAckResponse: true, eventMode: 'PackedForward', flushInterval: 10,
});
const started = performance.now();
let pending: Promise<void>[] = [];
let records = 0;
for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
  const record = JSON.parse(line) as Record<string, unknown>;
  const ms = Date.parse(record.Timestamp as string);
  pending.push(new Promise((resolve, reject) => sender.emit('peer', record, new fluentLogger.EventTime(Math.floor(ms / 1000), (ms % 1000) * 1e6), (e?: Error) => (e ? reject(e) : resolve()))));
  records++;
  if (pending.length >= WINDOW) {
    await Promise.all(pending);
    pending = [];
  }
}
await Promise.all(pending);
await new Promise<void>((resolve) => sender.end(undefined, undefined, () => resolve()));
const seconds = (performance.now() - started) / 1000;
process.stderr.write(`${JSON.stringify({ records, seconds, peakRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
