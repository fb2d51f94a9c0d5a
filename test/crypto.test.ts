import assert from 'node:assert/strict';
import { createHash as nodeCreateHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { createHash, randomBytes, randomUUID } from '../src/crypto.js';

describe('randomBytes', () => {
  it('gives the size asked for, across the edges of its pool', () => {
    for (const size of [0, 1, 16, 4095, 4096, 4097, 10_000]) assert.equal(randomBytes(size).length, size);
  });

  it('never hands out the same bytes twice', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20_000; i++) ids.add(randomBytes(16).toString('base64'));
    assert.equal(ids.size, 20_000);
  });

  it('spreads its bytes evenly over every value', () => {
    const counts = new Array<number>(256).fill(0);
    // 256 KiB in pieces that do not divide the pool, so that refills fall mid-request.
    for (let i = 0; i < 1000; i++) for (const b of randomBytes(262)) counts[b]!++;
    const expected = (1000 * 262) / 256;
    // Each count is binomial with a standard deviation of about 32: 8 of them either side never happens by chance.
    for (const [value, count] of counts.entries())
      assert.ok(Math.abs(count - expected) < 256, `byte ${value} came ${count} times, not about ${expected}`);
  });
});

describe('randomUUID', () => {
  it('writes version 4 UUIDs, as crypto.randomUUID() does', () => {
    const uuids = Array.from({ length: 1000 }, randomUUID);
    for (const u of uuids) assert.match(u, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(new Set(uuids).size, uuids.length);
  });
});

describe('createHash', () => {
  it("is node:crypto's hash", () => {
    assert.equal(createHash('sha256').update('audit').digest('hex'), nodeCreateHash('sha256').update('audit').digest('hex'));
  });
});
