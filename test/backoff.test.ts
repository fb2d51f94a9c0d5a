import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, sleep } from '../src/backoff.js';

describe('Backoff', () => {
  it('doubles from the initial delay up to the cap, jittered into the upper half', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0);
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map(() => low.next()),
      [50, 100, 200, 400, 500, 500],
    );
    const high = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0.999999);
    assert.deepEqual(
      [1, 2, 3, 4, 5].map(() => high.next()),
      [100, 200, 400, 800, 1000],
    );
  });

  it('starts again from the initial delay after reset()', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0);
    b.next();
    b.next();
    b.reset();
    assert.equal(b.next(), 50);
  });

  it('stops sleeping as soon as it is aborted', async () => {
    const abort = new AbortController();
    const slept = sleep(60_000, abort.signal);
    abort.abort();
    await slept; // would hang the test for a minute if the abort were ignored
    await sleep(60_000, abort.signal);
  });
});
