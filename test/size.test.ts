import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes } from '../src/size.js';

test('formatBytes: decimal units, bytes whole, one decimal up to MB, two for GB', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1000), '1.0 kB');
  assert.equal(formatBytes(520_192), '520.2 kB');
  assert.equal(formatBytes(1_048_576), '1.0 MB');
  assert.equal(formatBytes(999_999_999), '1000.0 MB');
  assert.equal(formatBytes(4_590_000_000), '4.59 GB');
});
