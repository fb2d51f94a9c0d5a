/**
 * The floor: the corpus encoded ahead of time into PackedForward chunks (not timed), then written
 * straight to the sink with up to WINDOW chunks awaiting their acks: what the socket and the sink
 * allow, with no reading, parsing, validation or spooling.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { decodeMultiStream } from '@msgpack/msgpack';
import { ChunkBuilder } from '../src/forward/chunk.js';
import { DEFAULT_CHUNK_LIMITS } from '../src/forward/chunk-limits.js';
import { encodePackedForward } from '../src/forward/protocol.js';
import { cpuSeconds, peakRssBytes } from '../src/cli/units.js';

const [path, port] = [process.argv[2]!, Number(process.argv[3])];
const WINDOW = 8;
const builder = new ChunkBuilder(DEFAULT_CHUNK_LIMITS);
const frames: Buffer[][] = [];
const take = () => {
  const chunk = builder.take();
  if (chunk) frames.push(encodePackedForward('deploy_audit.floor', chunk.entries, { size: chunk.count, chunk: chunk.id }));
};
let records = 0;
for (const line of readFileSync(path, 'utf8').split('\n')) {
  if (line === '') continue;
  builder.append(1632312000, 0, JSON.parse(line));
  records++;
  if (builder.full) take();
}
take();

const started = performance.now();
const cpuBefore = process.cpuUsage();
const socket = connect(port, '127.0.0.1');
await once(socket, 'connect');
let acked = 0;
let inFlight = 0;
let wake = null as (() => void) | null;
void (async () => {
  for await (const _ of decodeMultiStream(socket)) {
    acked++;
    inFlight--;
    wake?.();
  }
})();
for (const frame of frames) {
  while (inFlight >= WINDOW) await new Promise<void>((resolve) => (wake = resolve));
  inFlight++;
  socket.cork();
  for (const part of frame) socket.write(part);
  socket.uncork();
}
while (acked < frames.length) await new Promise<void>((resolve) => (wake = resolve));
socket.end();
const seconds = (performance.now() - started) / 1000;
// Only the timed part: encoding the chunks beforehand is not the floor's work.
process.stderr.write(`${JSON.stringify({ records, seconds, peakRssBytes: peakRssBytes(), cpuSeconds: cpuSeconds(cpuBefore) })}\n`);
