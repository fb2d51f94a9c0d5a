import assert from 'node:assert/strict';
import { test } from 'node:test';
import { count, inNumber, was } from '../src/plural.js';

test('count: one takes the singular, every other count the plural, a given plural when irregular', () => {
  assert.equal(count(1, 'record'), '1 record');
  assert.equal(count(0, 'record'), '0 records');
  assert.equal(count(2, 'chunk'), '2 chunks');
  assert.equal(count(1_000_000, 'line'), '1000000 lines');
  assert.equal(count(1, 'entry', 'entries'), '1 entry');
  assert.equal(count(3, 'entry', 'entries'), '3 entries');
});

test('was: "was" for one, "were" for none and for many', () => {
  assert.deepEqual([0, 1, 2].map(was), ['were', 'was', 'were']);
});

test('inNumber: the first word for one, the second for none and for many', () => {
  assert.deepEqual(
    [0, 1, 2].map((n) => inNumber(n, 'stays', 'stay')),
    ['stay', 'stays', 'stay'],
  );
});
