/**
 * A receiver that reads at a trickle: backpressure must reach the input, so that 1 GB passes
 * through with memory flat and the spool within its cap. The sink reads the socket at a fixed
 * byte rate, acks each chunk and counts records from the frame's `size` option.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { it } from 'node:test';
import { decodeMultiStream, encode } from '@msgpack/msgpack';
import { sampleLines } from '../../src/sample/generate.js';
import { jsonSummary, startMeteredShip } from '../helpers/ship-cli.js';

const TOTAL_BYTES = 1024 ** 3;
const TRICKLE_BYTES_PER_SECOND = 24 * 1024 * 1024;
const SPOOL_MAX_BYTES = 32 * 1024 * 1024;
/** About 110 MB is measured here, metrics endpoint included; without pooled chunk bodies it was 143 MB. */
const PEAK_RSS_LIMIT = 128 * 1024 * 1024;

/** Reads at most `rate` bytes a second from each connection (pausing the socket in between). */
function trickleSink(rate: number) {
  const counts = { records: 0 };
  const server = createServer((socket: Socket) => {
    const input = new PassThrough();
    let budget = rate / 10;
    const refill = setInterval(() => {
      budget = rate / 10;
      socket.resume();
    }, 100);
    socket.on('data', (data: Buffer) => {
      input.write(data);
      budget -= data.length;
      if (budget <= 0) socket.pause();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(refill);
      input.end();
    });
    void (async () => {
      for await (const frame of decodeMultiStream(input)) {
        const option = (frame as [string, Uint8Array, { chunk: string; size: number }])[2];
        counts.records += option.size;
        socket.write(encode({ ack: option.chunk }));
      }
    })().catch(() => socket.destroy());
  });
  return { server, counts };
}

it('a trickling receiver holds the input back: 1 GB passes with peak RSS under 128 MB and the spool within its cap', async () => {
  const { server, counts } = trickleSink(TRICKLE_BYTES_PER_SECOND);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const ship = await startMeteredShip([
      '--port',
      String((server.address() as AddressInfo).port),
      '--spool-max-bytes',
      String(SPOOL_MAX_BYTES),
      '--no-progress',
    ]);
    const block = Buffer.from([...sampleLines(4000, { seed: 91, start: 1632312000 })].join(''));
    const stdin = ship.child.stdin!;
    let written = 0;
    let lines = 0;
    let largestSpool = 0;
    let nextScrape = 0;
    while (written < TOTAL_BYTES) {
      if (!stdin.write(block)) await once(stdin, 'drain');
      written += block.length;
      lines += 4000;
      if (written >= nextScrape) {
        largestSpool = Math.max(largestSpool, (await ship.scrape()).get('audit_ship_spool_bytes') ?? 0);
        nextScrape += 32 * 1024 * 1024;
      }
    }
    assert.equal(await ship.exit(), 0, ship.stderr());
    const summary = jsonSummary(ship.stderr());
    assert.equal(summary.lines, lines);
    assert.equal(summary.recordsAcked, lines);
    assert.equal(counts.records, lines, 'the sink counted every record');
    assert.ok(largestSpool <= SPOOL_MAX_BYTES, `the spool held ${largestSpool} bytes at most`);
    assert.ok(summary.peakRssBytes! < PEAK_RSS_LIMIT, `peak RSS ${summary.peakRssBytes} bytes`);
  } finally {
    server.close();
  }
});
