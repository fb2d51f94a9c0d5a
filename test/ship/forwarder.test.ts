/**
 * spool → forward: a chunk leaves the spool only once the sender has written those before it, and
 * the bodies of chunks awaiting their acks are given back to the pool, to be read back from the
 * spool if they must be resent.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChunkBufferPool, chunkSlabBytes } from '../../src/forward/buffer-pool.js';
import { Sender } from '../../src/forward/sender.js';
import { emptyCounts } from '../../src/ship/counts.js';
import { Forwarder, spooledBodies } from '../../src/ship/forwarder.js';
import { Spool } from '../../src/spool/spool.js';
import { tempDir } from '../helpers/cli.js';
import { FaultServer } from '../helpers/fault-server.js';
import { chunksOf, senderOptions } from '../helpers/forward.js';
import { waitFor } from '../helpers/ship-cli.js';

const CHUNK_BYTES = 1024 * 1024;

async function spoolOf(chunks: number, perChunk: number) {
  const pool = new ChunkBufferPool(chunkSlabBytes(CHUNK_BYTES), 8);
  const spool = await Spool.open({ dir: join(tempDir(), 'spool'), maxBytes: 1024 ** 3, overflow: 'block', fsync: 'never', bodies: pool });
  const sent = chunksOf(chunks * perChunk, perChunk);
  for (const c of sent.chunks) await spool.append(c);
  return { pool, spool, ...sent };
}

describe('Forwarder', () => {
  it('leaves chunks in the spool while the server reads nothing, whatever the window', async (t) => {
    // A server that accepts and never reads: the socket blocks once the kernel's buffers are full.
    const sockets: Socket[] = [];
    const server = createServer((socket) => {
      socket.pause();
      sockets.push(socket);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => {
      for (const s of sockets) s.destroy();
      server.close();
    });
    const { pool, spool, chunks } = await spoolOf(40, 1000);
    const sender = new Sender(senderOptions((server.address() as AddressInfo).port, { window: 32, bodies: spooledBodies(spool, pool) }));
    const counts = emptyCounts();
    const forwarder = new Forwarder(spool, sender, counts);
    t.after(async () => {
      forwarder.stop();
      await sender.close(0);
      await spool.close();
    });
    await waitFor(() => sender.queued > 0, 'a chunk waiting for the blocked socket');
    // Time for the forwarder to take more, were it going to.
    await sleep(200);
    assert.equal(sender.queued, 1, 'one chunk waits for the blocked socket');
    assert.ok(sender.inFlightCount < 32, `the socket blocked before the window filled (${sender.inFlightCount} in flight)`);
    assert.equal(counts.chunksSent, sender.inFlightCount + 1, 'nothing else was taken from the spool');
    assert.equal(spool.stats.chunks, chunks.length, 'every chunk is still in the spool');
  });

  it('delivers every chunk, giving each body back to the pool once written', async (t) => {
    const server = new FaultServer(() => ({ delayMs: 20 }));
    await server.listen();
    t.after(() => server.close());
    const { pool, spool, chunks, times } = await spoolOf(12, 1000);
    const released: string[] = [];
    const bodies = spooledBodies(spool, pool);
    const sender = new Sender(
      senderOptions(server.port, {
        window: 8,
        bodies: { release: (c) => (released.push(c.id), bodies.release(c)), restore: (c) => bodies.restore(c) },
      }),
    );
    const counts = emptyCounts();
    const forwarder = new Forwarder(spool, sender, counts);
    t.after(() => sender.close(0));
    await spool.drained();
    forwarder.stop();
    await spool.close();
    assert.equal(counts.chunksAcked, chunks.length);
    assert.equal(counts.bytesAcked, counts.bytesSent, 'bytes counted as sent, not as held at the ack');
    assert.equal(
      counts.bytesAcked,
      chunks.reduce((n, c) => n + c.entries.length, 0),
    );
    assert.ok(released.length > 0, 'bodies were given up while their acks were awaited');
    const arrived = new Set(server.records.map((r) => r.record.RequestID as string));
    for (const id of times.keys()) assert.ok(arrived.has(id), `record ${id} arrived`);
  });
});
