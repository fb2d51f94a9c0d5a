import assert from 'node:assert/strict';
import { test } from 'node:test';
import { span } from '../src/span.js';

test('span: the largest unit that states the time exactly, seconds with decimals before milliseconds', () => {
  assert.equal(span(0), '0 ms');
  assert.equal(span(300), '300 ms');
  assert.equal(span(1000), '1 s');
  assert.equal(span(1500), '1.5 s');
  assert.equal(span(10_000), '10 s');
  assert.equal(span(90_000), '90 s');
  assert.equal(span(120_000), '2 min');
  assert.equal(span(3_600_000), '1 h');
  assert.equal(span(5_400_000), '90 min');
});
