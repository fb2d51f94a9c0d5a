/**
 * A ledger of RequestIDs: what a fault test fed in, checked against what the receiver got. Every
 * id must arrive at least once; duplicates are counted, never excused silently.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ShipSummary } from '../../src/cli/ship-summary.js';
import { sampleLines } from '../../src/sample/generate.js';
import { seedExample } from './paths.js';

/** `n` sample audit lines (each ending in a newline), the same for the same seed. */
export function lines(n: number, seed: number): string[] {
  return [...sampleLines(n, { seed, start: 1632312000 })];
}

/**
 * `count` files of `each` audit lines in `dir` (audit-00.log, audit-01.log, ...), each from its own
 * seed after `seed`: the files and their lines.
 */
export function smallFiles(dir: string, count: number, each: number, seed: number): { files: string[]; records: string[][] } {
  const files = Array.from({ length: count }, (_, i) => join(dir, `audit-${String(i).padStart(2, '0')}.log`));
  const records = files.map((file, i) => {
    const part = lines(each, seed + i);
    writeFileSync(file, part.join(''));
    return part;
  });
  return { files, records };
}

/** The RequestID of an audit line. */
export function idOf(line: string): string {
  return (JSON.parse(line) as { RequestID: string }).RequestID;
}

export class Ledger {
  readonly lines: string[];
  readonly ids: string[];

  constructor(count: number, seed: number) {
    this.lines = lines(count, seed);
    this.ids = this.lines.map(idOf);
  }

  /** One ledger of the records of several (files shipped in one run). */
  static of(parts: readonly Ledger[]): Ledger {
    const all = new Ledger(0, 0);
    for (const part of parts) {
      all.lines.push(...part.lines);
      all.ids.push(...part.ids);
    }
    return all;
  }

  text(): string {
    return this.lines.join('');
  }

  /** Ids still missing from `received`. */
  missing(received: readonly string[]): string[] {
    const got = new Set(received);
    return this.ids.filter((id) => !got.has(id));
  }

  /** Asserts that every id arrived (and nothing foreign did); returns the number of duplicates. */
  assertComplete(received: readonly string[]): number {
    const missing = this.missing(received);
    assert.equal(missing.length, 0, `${missing.length} records lost, e.g. ${missing.slice(0, 3).join(', ')}`);
    const known = new Set(this.ids);
    assert.deepEqual(
      received.filter((id) => !known.has(id)),
      [],
      'only records from the ledger arrived',
    );
    return received.length - new Set(received).size;
  }
}

/** `name{labels} value` lines of the Prometheus text format, keyed by `name{labels}`. */
export function metricSamples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The summary and the metrics give the same numbers for every hop they share. */
export function assertSummaryMatchesMetrics(summary: ShipSummary, metrics: Map<string, number>): void {
  const pairs: [keyof ShipSummary, string][] = [
    ['lines', 'audit_ship_lines_read_total'],
    ['valid', 'audit_ship_records_valid_total'],
    ['recordsSent', 'audit_ship_records_sent_total'],
    ['recordsAcked', 'audit_ship_records_acked_total'],
    ['chunksAcked', 'audit_ship_chunks_acked_total'],
    ['resends', 'audit_ship_chunks_resent_total'],
    ['connectRetries', 'audit_ship_connect_retries_total'],
    ['dropped', 'audit_ship_records_dropped_total'],
    ['vanishedFromSpool', 'audit_ship_records_vanished_total'],
    ['recordsNotSpooled', 'audit_ship_records_not_spooled_total'],
    ['filesFailed', 'audit_ship_input_files_failed_total'],
    ['leftInSpool', 'audit_ship_spool_records'],
  ];
  for (const [field, metric] of pairs) assert.equal(metrics.get(metric), summary[field], `${field} vs ${metric}`);
}

/** The summary's identity: every line counted once; every valid record acked, dropped, left in the spool or said not spooled. */
export function assertAccounted(s: ShipSummary): void {
  assert.equal(s.lines, s.valid + s.invalid + s.skipped + s.blank + s.duplicates + s.filtered, 'every line is counted once');
  assert.equal(
    s.valid + s.recoveredFromSpool,
    s.recordsAcked + s.dropped + s.vanishedFromSpool + s.leftInSpool + s.recordsNotSpooled,
    'every record is accounted for',
  );
}

/**
 * A value `levels` maps deep, to put under a record: with the record's own map, `levels + 1`
 * levels, the innermost at depth `levels` (the writer refuses a map at depth MAX_RECORD_DEPTH).
 */
export function nested(levels: number): unknown {
  let value: unknown = { leaf: 1 };
  for (let i = 1; i < levels; i++) value = { x: value };
  return value;
}

/**
 * The seed record, as a JSON line without its end, with `n` objects before its fields, each under
 * a key `PREFIXi` and holding a `__proto__` key: a line with `n` forbidden-key findings.
 */
export function withForbiddenKeys(n: number, prefix = 'k'): string {
  const keys = Array.from({ length: n }, (_, i) => `"${prefix}${i}":{"__proto__":1}`).join(',');
  return JSON.stringify(seedExample()).replace('{', `{${keys},`);
}
