import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes } from '../src/size.js';

test('formatBytes: decimal units, bytes whole, one decimal up to MB, two for GB', () => {
  const cases: [number, string][] = [
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1.0 kB'],
    [520_192, '520.2 kB'],
    [1_048_576, '1.0 MB'],
    [999_999_999, '1000.0 MB'],
    [4_590_000_000, '4.59 GB'],
  ];
  for (const [bytes, text] of cases) assert.equal(formatBytes(bytes), text, `${bytes} bytes`);
});
