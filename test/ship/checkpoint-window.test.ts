/**
 * The window a checkpoint entry was shipped under, and whether it holds what a later run asks for.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { covers, describeWindow, narrower, runWindow } from '../../src/ship/checkpoint-window.js';

const T1 = '2021-09-22T12:00:00.000000000Z';
const T2 = '2021-09-22T12:00:00.000000001Z';
const T3 = '2021-09-23T00:00:00.000000000Z';

describe('checkpoint windows', () => {
  it('writes a run window as fixed-width UTC, so that bounds compare as text', () => {
    assert.deepEqual(runWindow({ seconds: 1632312000, nanoseconds: 1 }, null), { since: T2 });
    assert.deepEqual(runWindow(null, { seconds: 1632355200, nanoseconds: 0 }), { until: T3 });
    assert.deepEqual(runWindow(undefined, undefined), {});
  });

  it('covers a run only where nothing it asks for was left out', () => {
    assert.ok(covers({}, {}), 'nothing left out: any run');
    assert.ok(covers({}, { since: T1, until: T3 }));
    assert.ok(covers({ since: T1 }, { since: T1 }), 'the same --since');
    assert.ok(covers({ since: T1 }, { since: T2 }), 'a later --since asks for less');
    assert.ok(!covers({ since: T2 }, { since: T1 }), 'an earlier --since asks for what was left out');
    assert.ok(!covers({ since: T1 }, {}), 'no --since asks for everything');
    assert.ok(covers({ until: T3 }, { until: T2 }), 'an earlier --until asks for less');
    assert.ok(!covers({ until: T2 }, { until: T3 }), 'a later --until asks for more');
    assert.ok(!covers({ until: T2 }, { since: T1 }), 'no --until asks for what was at or after it');
    assert.ok(covers({ since: T1, until: T3 }, { since: T2, until: T3 }));
  });

  it('narrows two windows to what both shipped: the later since, the earlier until', () => {
    assert.deepEqual(narrower({}, {}), {});
    assert.deepEqual(narrower({ since: T1 }, {}), { since: T1 });
    assert.deepEqual(narrower({}, { until: T2 }), { until: T2 });
    assert.deepEqual(narrower({ since: T1, until: T3 }, { since: T2, until: T2 }), { since: T2, until: T2 });
    assert.deepEqual(narrower({ since: T2, until: T2 }, { since: T1, until: T3 }), { since: T2, until: T2 });
  });

  it('says a window as the options that make it', () => {
    assert.equal(describeWindow({ since: T1, until: T3 }), `--since ${T1} --until ${T3}`);
    assert.equal(describeWindow({ until: T3 }), `--until ${T3}`);
  });
});
