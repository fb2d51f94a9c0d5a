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

  it('shows no percent for stdin or kubectl, whose size is unknown', () => {
    const text = new Progress(emptyCounts(), spool, [source(null, 100)]).text();
    assert.doesNotMatch(text, /%|ETA/);
  });
});
