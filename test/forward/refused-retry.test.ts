import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REFUSED_RETRY_MAX_MS, REFUSED_RETRY_MS, RefusedRetry } from '../../src/forward/refused-retry.js';

describe('RefusedRetry', () => {
  it('waits 30 s, then doubles to 5 minutes; a try that gets through starts over', async () => {
    const retry = new RefusedRetry();
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) waits.push(retry.schedule(() => {}));
    retry.cancel();
    assert.deepEqual(waits, [30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
    assert.deepEqual([REFUSED_RETRY_MS, REFUSED_RETRY_MAX_MS], [30_000, 300_000]);
    retry.accepted();
    assert.equal(
      retry.schedule(() => {}),
      30_000,
    );
    retry.cancel();
  });

  it('calls the retry once its wait is over, and not once cancelled', async (t) => {
    const retry = new RefusedRetry(10);
    let tries = 0;
    // The retry's timer does not hold the process open (a run ends whatever waits); this does.
    const alive = setInterval(() => {}, 1000);
    t.after(() => clearInterval(alive));
    await new Promise<void>((resolve) =>
      retry.schedule(() => {
        tries++;
        resolve();
      }),
    );
    assert.equal(tries, 1);
    retry.schedule(() => tries++);
    retry.cancel();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(tries, 1, 'a cancelled retry does not run');
  });
});
