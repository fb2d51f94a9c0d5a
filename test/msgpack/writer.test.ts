/** Our record encoder against @msgpack/msgpack: the same bytes for every JSON value, and the same limits. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode, encode } from '@msgpack/msgpack';
import { MsgpackWriter, TooDeepError } from '../../src/msgpack/writer.js';
import { sampleRecords } from '../../src/sample/generate.js';

function ours(value: unknown): Buffer {
  const w = new MsgpackWriter(16, 100);
  w.value(value);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

const boundaries = [0, 1, 31, 32, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER];
const numbers = [
  ...boundaries,
  ...boundaries.map((n) => -n),
  -33,
  -129,
  -32769,
  -(2 ** 31) - 1,
  0.5,
  -1.25,
  1e21,
  2 ** 53 + 2,
  Number.MIN_VALUE,
  -0,
];
const strings = [
  '',
  'a',
  'x'.repeat(31),
  'x'.repeat(32),
  'é'.repeat(20),
  'é'.repeat(200),
  'x'.repeat(255),
  'x'.repeat(256),
  '€'.repeat(30000),
  'x'.repeat(65536),
  '😀 emoji',
  'NUL \u0000 inside',
  'mixed ascii and ü',
];
const sized = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

describe('MsgpackWriter', () => {
  it('writes the same bytes as @msgpack/msgpack for numbers, strings, maps and arrays at every size boundary', () => {
    const values: unknown[] = [
      ...numbers,
      ...strings,
      true,
      false,
      null,
      [],
      {},
      sized(15),
      sized(16),
      sized(70000),
      Array.from({ length: 15 }, (_, i) => i),
      Array.from({ length: 16 }, (_, i) => i),
      Array.from({ length: 70000 }, () => 'v'),
      { nested: { deeper: [1, { deepest: ['x', null, 2.5] }] } },
    ];
    for (const value of values) {
      assert.ok(ours(value).equals(Buffer.from(encode(value))), `${JSON.stringify(value)?.slice(0, 60)}`);
    }
  });

  it('encodes generated audit records byte for byte as @msgpack/msgpack does, and they decode back', () => {
    for (const record of sampleRecords(2000, { seed: 77, start: 1632312000 })) {
      const bytes = ours(record);
      assert.ok(bytes.equals(Buffer.from(encode(record))));
      assert.deepEqual(decode(bytes), record);
    }
  });

  it('refuses a value nested deeper than its limit', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 150; i++) deep = { a: deep };
    assert.throws(() => ours(deep), TooDeepError);
    let fine: unknown = 1;
    for (let i = 0; i < 99; i++) fine = [fine];
    assert.deepEqual(decode(ours(fine)), fine);
  });
});
