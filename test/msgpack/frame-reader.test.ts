/**
 * The frame reader against @msgpack/msgpack: random values, encoded back to back and pushed in
 * random pieces, come out as exactly their encodings; limits are refused at the header.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode } from '@msgpack/msgpack';
import { FrameError, FrameReader, splitObjects } from '../../src/msgpack/frame-reader.js';
import { prng } from '../../src/sample/generate.js';

const WIDE = { maxMessageBytes: 1 << 30, maxObjects: 1 << 30, maxDepth: 64 };

function randomValue(rand: () => number, depth = 0): unknown {
  const r = rand();
  if (depth > 4 || r < 0.3) {
    const scalars = [
      null,
      true,
      false,
      0,
      -1,
      127,
      128,
      -33,
      65535,
      65536,
      2 ** 32,
      -(2 ** 31) - 1,
      1.5,
      'x',
      'é'.repeat(40),
      'y'.repeat(300),
      'z'.repeat(70_000),
    ];
    return scalars[Math.floor(rand() * scalars.length)];
  }
  if (r < 0.45) return new Uint8Array(Math.floor(rand() * (rand() < 0.1 ? 70_000 : 300)));
  if (r < 0.7) return Array.from({ length: Math.floor(rand() * (rand() < 0.1 ? 20 : 5)) }, () => randomValue(rand, depth + 1));
  const map: Record<string, unknown> = {};
  for (let k = Math.floor(rand() * (rand() < 0.1 ? 20 : 5)); k > 0; k--) map[`k${k}`] = randomValue(rand, depth + 1);
  return map;
}

describe('FrameReader', () => {
  it('cuts a stream pushed in random pieces into exactly the encodings of its values', () => {
    const rand = prng(77);
    const values = Array.from({ length: 400 }, () => Buffer.from(encode(randomValue(rand))));
    const stream = Buffer.concat(values);
    const reader = new FrameReader(WIDE);
    const out: Buffer[] = [];
    for (let at = 0; at < stream.length;) {
      const size = 1 + Math.floor(rand() * (rand() < 0.5 ? 8 : 50_000));
      out.push(...reader.push(stream.subarray(at, at + size)));
      at += size;
    }
    assert.equal(out.length, values.length);
    for (let i = 0; i < values.length; i++) assert.ok(out[i]!.equals(values[i]!), `value ${i}`);
    assert.equal(reader.midMessage, false);
  });

  it('refuses length prefixes, counts and depths over its limits at the header', () => {
    const limits = { maxMessageBytes: 1000, maxObjects: 100, maxDepth: 8 };
    assert.throws(() => new FrameReader(limits).push(Buffer.from([0xc6, 0xff, 0xff, 0xff, 0xff])), /more than the 1000 allowed/);
    assert.throws(() => new FrameReader(limits).push(Buffer.from([0xdd, 0, 1, 0, 0])), /more than the 100 objects allowed/);
    assert.throws(() => new FrameReader(limits).push(Buffer.alloc(9, 0x91)), /nested deeper than 8/);
    assert.throws(() => new FrameReader(limits).push(Buffer.from([0xc1])), FrameError);
  });

  it('counts objects across all entries of a chunk', () => {
    const entries = Buffer.concat(Array.from({ length: 50 }, () => Buffer.from(encode([0, {}]))));
    assert.equal(splitObjects(entries, { maxObjects: 150, maxDepth: 4 }).length, 50);
    assert.throws(() => splitObjects(entries, { maxObjects: 149, maxDepth: 4 }), /more than the 149 objects/);
    assert.throws(() => splitObjects(entries.subarray(0, entries.length - 1), { maxObjects: 150, maxDepth: 4 }), /end in the middle/);
  });
});
