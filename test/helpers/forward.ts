/** Building blocks for forward-protocol tests: sender options tuned for tests, and chunks of known records. */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { ChunkBuilder, type Chunk } from '../../src/forward/chunk.js';
import type { SenderOptions } from '../../src/forward/sender.js';
import { sampleRecords } from '../../src/sample/generate.js';
import { parseTimestamp } from '../../src/schema/timestamp.js';
import { fixture } from './paths.js';

export const TAG = 'deploy_audit.test';

export function senderOptions(port: number, overrides: Partial<SenderOptions> = {}): SenderOptions {
  return {
    endpoints: [{ host: '127.0.0.1', port }],
    tag: TAG,
    window: 4,
    ackTimeoutMs: 5000,
    backoff: { initialMs: 20, maxMs: 200 },
    retryTimeoutMs: 0,
    tls: null,
    connectTimeoutMs: 2000,
    handshakeTimeoutMs: 2000,
    keepAliveMs: 30000,
    security: null,
    ...overrides,
  };
}

export interface Sent {
  chunks: Chunk[];
  /** RequestID → [seconds, nanoseconds] of every record in the chunks. */
  times: Map<string, [number, number]>;
}

export function chunksOf(count: number, perChunk: number, options: { compress?: boolean; seed?: number } = {}): Sent {
  const builder = new ChunkBuilder({ maxRecords: perChunk, maxBytes: 64 * 1024 * 1024 });
  const chunks: Chunk[] = [];
  const push = (chunk: Chunk) => chunks.push(options.compress ? { ...chunk, entries: gzipSync(chunk.entries), compressed: true } : chunk);
  const times = new Map<string, [number, number]>();
  for (const record of sampleRecords(count, { seed: options.seed ?? 11, start: 1632312000 })) {
    const t = parseTimestamp(record.Timestamp as string);
    if (!t.ok) throw new Error('sample timestamp did not parse');
    builder.append(t.seconds, t.nanoseconds, record);
    times.set(record.RequestID as string, [t.seconds, t.nanoseconds]);
    if (builder.full) push(builder.take()!);
  }
  const last = builder.take();
  if (last) push(last);
  return { chunks, times };
}

export const tlsFiles = {
  ca: () => readFileSync(fixture('tls/ca.pem')),
  otherCa: () => readFileSync(fixture('tls/other-ca.pem')),
  cert: () => readFileSync(fixture('tls/server.pem')),
  key: () => readFileSync(fixture('tls/server.key')),
  clientCa: () => readFileSync(fixture('tls/client-ca.pem')),
  clientCert: () => readFileSync(fixture('tls/client.pem')),
  clientKey: () => readFileSync(fixture('tls/client.key')),
};
