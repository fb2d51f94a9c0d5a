import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { RecentIds } from '../../../src/input/kube/recent-ids.js';
import { prng } from '../../../src/sample/generate.js';

/** What RecentIds promises, in the plainest form: a Set of the last `capacity` ids added. */
class Model {
  private readonly ring: string[] = [];
  constructor(private readonly capacity: number) {}
  add(id: string): boolean {
    if (this.ring.includes(id)) return false;
    this.ring.push(id);
    if (this.ring.length > this.capacity) this.ring.shift();
    return true;
  }
}

test('an id seen among the recent ones is refused, and accepted again once the ring has moved past it', () => {
  const recent = new RecentIds(3);
  const [a, b, c, d] = Array.from({ length: 4 }, () => randomUUID());
  assert.equal(recent.add(a!), true);
  assert.equal(recent.add(a!), false);
  assert.equal(recent.add(b!), true);
  assert.equal(recent.add(c!), true);
  assert.equal(recent.add(a!), false, 'still one of the last three');
  assert.equal(recent.add(d!), true, 'evicts a');
  assert.equal(recent.add(a!), true, 'a was evicted');
  assert.equal(recent.add(b!), true, 'b was evicted by a');
  assert.equal(recent.add(d!), false);
});

test('ids that differ only in case, or in one byte, are different ids', () => {
  const recent = new RecentIds(10);
  const id = '85ed5743-2714-4154-a8d2-854045eab175';
  assert.equal(recent.add(id), true);
  assert.equal(recent.add(id.toUpperCase()), true);
  assert.equal(recent.add(id.slice(0, -1) + '6'), true);
  assert.equal(recent.add(id.slice(0, -1)), true, 'a prefix');
  assert.equal(recent.add(id), false);
});

test('ids longer than a UUID, and ids beyond ASCII, are kept exactly too', () => {
  const recent = new RecentIds(6);
  const long = 'x'.repeat(200);
  const ids = [long, `${long}y`, 'ü'.repeat(36), 'ü'.repeat(37), '€'.repeat(3), '€€ü'];
  for (const id of ids) assert.equal(recent.add(id), true, id);
  for (const id of ids) assert.equal(recent.add(id), false, id);
  assert.equal(recent.add('\u00fc'.repeat(2)), true, 'not a prefix of a longer id');
  assert.equal(recent.add(long), true, 'evicted by the last add');
});

test('agrees with a plain model over a long seeded run of repeats, evictions and probe chains', () => {
  for (const capacity of [1, 2, 7, 64, 1000]) {
    const random = prng(capacity);
    // A small pool of ids makes repeats common; long and non-ASCII ones take the other path.
    const pool = Array.from({ length: capacity * 3 + 5 }, (_, i) =>
      i % 17 === 0 ? `${randomUUID()}-${'z'.repeat(i % 50)}` : i % 13 === 0 ? `é${i}` : i % 11 === 0 ? `€${i}` : randomUUID(),
    );
    const recent = new RecentIds(capacity);
    const model = new Model(capacity);
    let refused = 0;
    for (let step = 0; step < 20_000; step++) {
      const id = pool[Math.floor(random() * pool.length)]!;
      const expected = model.add(id);
      assert.equal(recent.add(id), expected, `capacity ${capacity}, step ${step}, ${id}`);
      if (!expected) refused++;
    }
    assert.ok(refused > 1000, `capacity ${capacity}: the run exercised refusals (${refused})`);
  }
});
