/**
 * SenderOptions.bodies: a chunk's body is given up once its frame is written, and put back before
 * a resend. The resend must carry the chunk's own records; a body that cannot be put back fails
 * that chunk's send rather than sending something else.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Chunk } from '../../src/forward/chunk.js';
import { Sender } from '../../src/forward/sender.js';
import type { ChunkBodies } from '../../src/forward/waiting-chunks.js';
import { FaultServer, type AckAction, type ChunkContext } from '../helpers/fault-server.js';
import { chunksOf, senderOptions } from '../helpers/forward.js';
import { waitFor } from '../helpers/ship-cli.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** Keeps given-up bodies aside (as the spool does on disk) and records what was released and restored. */
class Bodies implements ChunkBodies {
  readonly aside = new Map<string, Buffer>();
  readonly restored: string[] = [];
  /** The most bodies being put back at once. */
  mostAtOnce = 0;
  private atOnce = 0;
  constructor(private readonly failRestore: Error | null = null) {}

  release(chunk: Chunk): void {
    assert.ok(!this.aside.has(chunk.id), `chunk ${chunk.id} released twice`);
    this.aside.set(chunk.id, chunk.entries);
    chunk.entries = Buffer.alloc(0);
  }

  async restore(chunk: Chunk): Promise<void> {
    this.mostAtOnce = Math.max(this.mostAtOnce, ++this.atOnce);
    await sleep(1);
    this.atOnce--;
    if (this.failRestore) throw this.failRestore;
    chunk.entries = this.aside.get(chunk.id)!;
    this.aside.delete(chunk.id);
    this.restored.push(chunk.id);
  }
}

/** A server that holds every ack on its first connection and acks on the others. */
async function holdingFirst(): Promise<FaultServer> {
  const server = new FaultServer(({ connection }: ChunkContext): AckAction => (connection === 1 ? 'hold' : 'ack'));
  await server.listen();
  cleanup.push(() => server.close());
  return server;
}

/** Waits until `n` chunks are held unacked on the first connection and their bodies given up, then cuts it. */
async function cutOnceReleased(server: FaultServer, bodies: Bodies, n: number): Promise<void> {
  await waitFor(() => server.held.length >= n && bodies.aside.size >= n, `${n} chunks held and their bodies given up`);
  for (const { socket } of server.held) socket.destroy();
}

describe('sender with chunk bodies kept elsewhere', () => {
  it('gives up each body once written, and resends a lost chunk with its own records', async () => {
    const server = await holdingFirst();
    const bodies = new Bodies();
    const { chunks, times } = chunksOf(200, 50);
    const sender = new Sender(senderOptions(server.port, { window: 4, bodies }));
    cleanup.push(() => sender.close(0));
    const sent = Promise.all(chunks.map((c) => sender.send(c)));
    await cutOnceReleased(server, bodies, chunks.length);
    for (const c of chunks) assert.equal(c.entries.length, 0, 'written and unacked: the body was given up');
    await sent;
    assert.deepEqual(
      bodies.restored,
      chunks.map((c) => c.id),
      'each lost chunk was restored before its resend, in order',
    );
    assert.equal(bodies.mostAtOnce, 1, 'one body is read back at a time');
    const acked = server.chunks.filter((c) => c.connection > 1);
    assert.equal(acked.length, chunks.length);
    const arrived = new Map(acked.flatMap((c) => c.records).map((r) => [r.record.RequestID as string, [r.seconds, r.nanoseconds]]));
    assert.equal(arrived.size, times.size);
    for (const [id, time] of times) assert.deepEqual(arrived.get(id), time, `record ${id} was resent`);
  });

  it('fails the send of a chunk whose body cannot be put back, and sends nothing in its place', async () => {
    const server = await holdingFirst();
    const gone = new Error('the spool segment is gone');
    const bodies = new Bodies(gone);
    const { chunks } = chunksOf(100, 50);
    const sender = new Sender(senderOptions(server.port, { window: 4, bodies }));
    cleanup.push(() => sender.close(0));
    const sent = chunks.map((c) => sender.send(c));
    await cutOnceReleased(server, bodies, chunks.length);
    for (const s of sent) await assert.rejects(s, (e) => e === gone);
    assert.equal(sender.pending, 0, 'nothing is left queued or in flight');
    assert.equal(server.chunks.filter((c) => c.connection > 1).length, 0, 'no empty chunk was resent');
  });

  it('holds every body until its ack without a place to keep them', async () => {
    const server = await holdingFirst();
    const { chunks } = chunksOf(100, 50);
    const sender = new Sender(senderOptions(server.port, { window: 4 }));
    cleanup.push(() => sender.close(0));
    const sizes = chunks.map((c) => c.entries.length);
    const sent = Promise.all(chunks.map((c) => sender.send(c)));
    await waitFor(() => server.held.length >= chunks.length, 'every chunk held unacked');
    assert.deepEqual(
      chunks.map((c) => c.entries.length),
      sizes,
    );
    for (const { socket } of server.held) socket.destroy();
    await sent;
    assert.equal(server.chunks.filter((c) => c.connection > 1).length, chunks.length);
  });
});
