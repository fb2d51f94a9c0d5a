import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { daysFromCivil, formatTimestamp, parseTimestamp, parseTimestampBytes } from '../../src/schema/timestamp.js';

function ok(s: string) {
  const r = parseTimestamp(s);
  assert.ok(r.ok, `${s} should parse: ${JSON.stringify(r)}`);
  return r;
}

function fails(s: string, reason: 'syntax' | 'range') {
  const r = parseTimestamp(s);
  assert.equal(r.ok, false, `${s} should not parse`);
  if (!r.ok) assert.equal(r.reason, reason, `${s}: ${r.detail}`);
}

describe('parseTimestamp', () => {
  it('keeps all nine fractional digits, exactly', () => {
    const r = ok('2021-09-22T12:18:19.269456495Z');
    assert.equal(r.seconds, Date.UTC(2021, 8, 22, 12, 18, 19) / 1000);
    assert.equal(r.nanoseconds, 269456495);
    assert.equal(r.utc, true);
  });

  it('accepts 0, 1, 3 and 9 fractional digits and scales them to nanoseconds', () => {
    assert.equal(ok('2021-09-22T12:18:19Z').nanoseconds, 0);
    assert.equal(ok('2021-09-22T12:18:19.2Z').nanoseconds, 200000000);
    assert.equal(ok('2021-09-22T12:18:19.269Z').nanoseconds, 269000000);
    assert.equal(ok('2021-09-22T12:18:19.000000001Z').nanoseconds, 1);
  });

  it('rejects more than nine fractional digits and an empty fraction', () => {
    fails('2021-09-22T12:18:19.2694564951Z', 'syntax');
    fails('2021-09-22T12:18:19.Z', 'syntax');
    // The validator adds `, found "…"` with the value: the detail says the count its own way.
    const r = parseTimestamp('2021-09-22T12:18:19.2694564951Z');
    assert.ok(!r.ok);
    assert.equal(r.detail, 'at most 9 fractional digits (10 here)');
  });

  it('agrees with Date.UTC on whole seconds across centuries and before the epoch', () => {
    for (const [y, m, d] of [
      [1970, 1, 1],
      [1969, 12, 31],
      [2000, 2, 29],
      [2100, 3, 1],
      [2400, 12, 31],
      [1, 1, 1],
    ] as const) {
      const expected = Date.UTC(y, m - 1, d) / 86400000;
      // Date.UTC maps years 0-99 to 1900-1999; build year 1 explicitly.
      const date = new Date(0);
      date.setUTCFullYear(y, m - 1, d);
      assert.equal(daysFromCivil(y, m, d), y < 100 ? date.getTime() / 86400000 : expected);
    }
  });

  it('applies offsets and flags them as not UTC', () => {
    const r = ok('2021-09-22T14:18:19.5+02:00');
    assert.equal(r.seconds, Date.UTC(2021, 8, 22, 12, 18, 19) / 1000);
    assert.equal(r.utc, false);
    assert.equal(ok('2021-09-22T12:18:19+00:00').utc, true);
    assert.equal(ok('2021-09-22T12:18:19-00:00').utc, false, '-00:00 means unknown offset (RFC 3339 4.3)');
  });

  it('checks the calendar: February 30, Feb 29 in a common year, month 13, hour 24', () => {
    fails('2021-02-30T00:00:00Z', 'range');
    fails('2021-02-29T00:00:00Z', 'range');
    ok('2024-02-29T00:00:00Z');
    fails('2100-02-29T00:00:00Z', 'range');
    ok('2000-02-29T00:00:00Z');
    fails('2021-13-01T00:00:00Z', 'range');
    fails('2021-00-01T00:00:00Z', 'range');
    fails('2021-09-22T24:00:00Z', 'range');
    fails('2021-09-22T23:60:00Z', 'range');
    fails('2021-09-22T12:00:00+24:00', 'range');
  });

  it('accepts a leap second only at 23:59:60 UTC and maps it onto the next second', () => {
    const r = ok('2016-12-31T23:59:60Z');
    assert.equal(r.seconds, Date.UTC(2017, 0, 1) / 1000);
    ok('2017-01-01T00:59:60+01:00');
    fails('2016-12-31T12:00:60Z', 'range');
    fails('2016-12-31T23:59:61Z', 'range');
  });

  it('rejects shapes that are not RFC 3339', () => {
    for (const s of [
      '2021-09-22',
      '2021-09-22 12:18:19Z',
      '2021-09-22T12:18:19',
      '2021-09-22T12:18:19+0200',
      '2021-9-22T12:18:19Z',
      '21-09-22T12:18:19Z',
      'x021-09-22T12:18:19Z',
      '2021-09-22T12:18:19ZZ',
      '',
    ]) {
      fails(s, 'syntax');
    }
  });
});

describe('formatTimestamp', () => {
  it('writes 9 fractional digits in UTC', () => {
    assert.equal(formatTimestamp(1632313099, 269456495), '2021-09-22T12:18:19.269456495Z');
    assert.equal(formatTimestamp(0, 1), '1970-01-01T00:00:00.000000001Z');
  });

  it('quotes the failing part of a timestamp read in the middle of a line, as the text form does', () => {
    for (const [stamp, detail] of [
      ['2021-02-30T12:00:00Z', '2021-02 has no day 30'],
      ['2021-09-22T25:00:00Z', 'time 25:00 does not exist'],
      ['2021-09-22T12:00:00+24:00', 'offset +24:00 is out of range'],
    ]) {
      const line = Buffer.from(`{"Timestamp":"${stamp}"}`);
      const fromBytes = parseTimestampBytes(line, 14, 14 + stamp!.length);
      assert.equal(fromBytes.ok ? '' : fromBytes.detail, detail);
      assert.deepEqual(parseTimestamp(stamp!), fromBytes);
    }
  });
});
