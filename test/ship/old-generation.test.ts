import assert from 'node:assert/strict';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import vm from 'node:vm';
import { describe, it } from 'node:test';
import { collectOldGeneration } from '../../src/ship/old-generation.js';

describe('collectOldGeneration', () => {
  it("runs V8's full collection while lines are read, without leaving gc() to anyone else", { timeout: 30_000 }, async (t) => {
    let majors = 0;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries())
        if ((entry as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
    });
    observer.observe({ entryTypes: ['gc'] });
    t.after(() => observer.disconnect());
    let lines = 0;
    const stop = collectOldGeneration(() => lines, 10, 100);
    t.after(stop);
    // Fails by the test's timeout if no full collection ever comes.
    while (majors === 0) {
      lines += 1000;
      await sleep(20);
    }
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
    assert.equal(vm.runInNewContext('typeof gc'), 'undefined', 'a new context was left with gc()');
  });

  it('collects only after enough lines since the last collection, and not once stopped', async () => {
    let lines = 0;
    let collections = 0;
    const stop = collectOldGeneration(
      () => lines,
      5,
      100,
      () => () => collections++,
    );
    await sleep(50);
    assert.equal(collections, 0, 'collected with no lines read');
    lines += 99;
    await sleep(50);
    assert.equal(collections, 0, 'collected before enough lines were read');
    lines += 1;
    while (collections === 0) await sleep(5);
    await sleep(50);
    assert.equal(collections, 1, 'collected again with no new lines');
    stop();
    lines += 1000;
    await sleep(50);
    assert.equal(collections, 1, 'collected once stopped');
  });
});
