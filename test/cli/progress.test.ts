import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Progress } from '../../src/cli/progress.js';
import type { InputSource } from '../../src/input/sources.js';
import { emptyCounts } from '../../src/ship/counts.js';
import { emptySpoolStats } from '../../src/spool/stats.js';

function source(size: number | null, bytesRead: number): InputSource {
  return { name: 'f', path: size === null ? null : 'f', size, bytesRead, resume: null, exhausted: false, chunks: async function* () {} };
}

const spool = emptySpoolStats();

describe('Progress', () => {
  it('shows lines, acked and rate, and for files the percent read and an ETA', () => {
    const counts = { ...emptyCounts(), lines: 12_345, recordsAcked: 12_000 };
    const text = new Progress(counts, { ...spool, records: 50 }, [source(1000, 250), source(1000, 0)]).text();
    assert.match(text, /^12k lines, 12k acked, \d+(\.\d)?[kM]? records\/s, 50 in spool, 12\.5%, ETA \d\d:\d\d$/);
  });

  it('counts what a checkpoint passed over as done, and reckons the ETA from what this run read', () => {
    const resumed = (size: number, bytesRead: number, skipped: number) => ({ ...source(size, bytesRead), skipped });
    const text = new Progress(emptyCounts(), spool, [resumed(1000, 100, 800), resumed(1000, 0, 1000)]).text();
    assert.match(text, /, 95\.0%, ETA \d\d:\d\d$/);
    // Nothing read yet in this run: no pace to reckon from, whatever was passed over.
    assert.match(new Progress(emptyCounts(), spool, [resumed(1000, 0, 500)]).text(), /, 50\.0%, ETA --:--$/);
  });

  it('shows no percent for stdin or kubectl, whose size is unknown', () => {
    const text = new Progress(emptyCounts(), spool, [source(null, 100)]).text();
    assert.doesNotMatch(text, /%|ETA/);
  });
});
