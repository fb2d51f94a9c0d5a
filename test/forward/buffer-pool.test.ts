import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChunkBufferPool } from '../../src/forward/buffer-pool.js';
import { ChunkBuilder } from '../../src/forward/chunk.js';

describe('ChunkBufferPool', () => {
  it('copies bytes exactly and reuses the memory of a recycled body', () => {
    const pool = new ChunkBufferPool(1024, 2);
    const first = pool.copy(Buffer.from('first body'), 5);
    assert.equal(first.toString(), 'first');
    pool.recycle(first);
    const second = pool.copy(Buffer.from('second'), 6);
    assert.equal(second.toString(), 'second');
    assert.equal(second.buffer, first.buffer, 'the recycled slab is reused');
  });

  it('never hands out memory that is still lent, even when a body is recycled twice', () => {
    const pool = new ChunkBufferPool(1024, 4);
    const a = pool.copy(Buffer.from('aaaa'), 4);
    pool.recycle(a);
    pool.recycle(a);
    const b = pool.copy(Buffer.from('bbbb'), 4);
    const c = pool.copy(Buffer.from('cccc'), 4);
    assert.notEqual(b.buffer, c.buffer);
    assert.equal(b.toString(), 'bbbb');
    assert.equal(c.toString(), 'cccc');
  });

  it('ignores buffers it did not lend, and gives a body larger than a slab memory of its own', () => {
    const pool = new ChunkBufferPool(8, 4);
    const foreign = Buffer.from('foreign!');
    pool.recycle(foreign);
    const large = pool.copy(Buffer.from('larger than a slab'), 18);
    assert.equal(large.toString(), 'larger than a slab');
    pool.recycle(large);
    const next = pool.copy(Buffer.from('small'), 5);
    assert.notEqual(next.buffer, foreign.buffer);
    assert.notEqual(next.buffer, large.buffer);
    assert.equal(foreign.toString(), 'foreign!');
  });

  it('keeps at most its limit of free slabs', () => {
    const pool = new ChunkBufferPool(64, 1);
    const bodies = [pool.copy(Buffer.from('1'), 1), pool.copy(Buffer.from('2'), 1)];
    for (const body of bodies) pool.recycle(body);
    const again = [pool.copy(Buffer.from('3'), 1), pool.copy(Buffer.from('4'), 1)];
    const reused = again.filter((body) => bodies.some((old) => old.buffer === body.buffer));
    assert.equal(reused.length, 1);
  });

  it('has ChunkBuilder encode in pooled memory and hand a chunk over without a copy; a recycled slab is encoded into again', () => {
    const pool = new ChunkBufferPool(1 << 16, 2);
    const builder = new ChunkBuilder({ maxRecords: 10, maxBytes: 1 << 16 }, pool);
    builder.append(1, 0, { a: 1 });
    const first = builder.take()!;
    const firstBytes = Buffer.from(first.entries);
    assert.equal(first.entries.buffer.byteLength, 1 << 16, 'the body lies in a slab of the pool');
    builder.append(2, 0, { b: 2 });
    const second = builder.take()!;
    assert.notEqual(second.entries.buffer, first.entries.buffer, 'the next chunk is encoded elsewhere while the first is lent');
    assert.deepEqual(first.entries, firstBytes, 'building the next chunk left the first one as it was');
    pool.recycle(first.entries);
    builder.append(3, 0, { c: 3 }); // into the slab taken when the second chunk was handed over
    builder.take();
    builder.append(4, 0, { d: 4 });
    assert.equal(builder.take()!.entries.buffer, first.entries.buffer, 'the recycled slab is encoded into again');
  });
});
