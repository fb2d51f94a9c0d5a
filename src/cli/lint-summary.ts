/**
 * What `audit-ship lint` says at its end on stderr: the counts (every line in exactly one), a line
 * per input when there are several, and the time, speed and memory of the run; or the same as one
 * JSON object (--summary json).
 */
import { count } from '../plural.js';
import { printable } from '../printable.js';
import { stderrColors } from './tty.js';
import { formatBytes } from '../size.js';
import { peakRssBytes } from './units.js';

/** What a lint run counts; `records` are the lines that are audit records (valid or invalid). */
export interface LintCounts {
  lines: number;
  records: number;
  valid: number;
  invalid: number;
  errors: number;
  warnings: number;
  blank: number;
  skipped: number;
  bytes: number;
}

export function emptyLintCounts(): LintCounts {
  return { lines: 0, records: 0, valid: 0, invalid: 0, errors: 0, warnings: 0, blank: 0, skipped: 0, bytes: 0 };
}

function summaryText(c: LintCounts, seconds: number, stopped: boolean, maxErrors: number): string {
  const colors = stderrColors();
  const mbps = c.bytes / 1e6 / Math.max(seconds, 1e-9);
  const errors = c.errors > 0 ? colors.red(count(c.errors, 'error')) : count(c.errors, 'error');
  const warnings = c.warnings > 0 ? colors.yellow(count(c.warnings, 'warning')) : count(c.warnings, 'warning');
  const lines = [
    `audit-ship lint: ${lineCounts(c)} (${count(c.skipped, 'not audit record')}, ${c.blank} blank); ${errors}, ${warnings}`,
    `${formatBytes(c.bytes)} in ${seconds.toFixed(2)} s (${mbps.toFixed(1)} MB/s), peak RSS ${formatBytes(peakRssBytes())}`,
  ];
  if (stopped) lines.push(`stopped after ${count(maxErrors, 'error')} (--max-errors)`);
  return `${lines.join('\n')}\n`;
}

/** One input's share of the counts, for the per-file summary lines. */
export interface FileCounts {
  file: string;
  lines: number;
  records: number;
  valid: number;
  invalid: number;
  blank: number;
  skipped: number;
  errors: number;
  warnings: number;
}

export function fileCounts(file: string, before: LintCounts, after: LintCounts): FileCounts {
  const d = (k: keyof LintCounts) => after[k] - before[k];
  return {
    file,
    lines: d('lines'),
    records: d('records'),
    valid: d('valid'),
    invalid: d('invalid'),
    blank: d('blank'),
    skipped: d('skipped'),
    errors: d('errors'),
    warnings: d('warnings'),
  };
}

/** A finished run, as the summary tells it. */
export interface LintRun {
  counts: LintCounts;
  perFile: readonly FileCounts[];
  seconds: number;
  /** Stopped at --max-errors. */
  stopped: boolean;
  maxErrors: number;
}

/** The summary's text, or its JSON object as one line. */
export function lintSummary(kind: 'text' | 'json', run: LintRun): string {
  const { counts: c, perFile, seconds, stopped } = run;
  if (kind === 'text') return fileLines(perFile) + summaryText(c, seconds, stopped, run.maxErrors);
  const summary = { ...c, stopped, seconds, mbPerSecond: c.bytes / 1e6 / seconds, peakRssBytes: peakRssBytes(), files: perFile };
  return `${JSON.stringify(summary)}\n`;
}

/**
 * Past this many inputs, the per-file lines name only the files with a finding: a directory of
 * 1,500 clean rotated logs gave 1,500 lines of "0 errors, 0 warnings" before the one that counts.
 */
const FILE_LINES = 20;

/** A line per file when there are several, and past FILE_LINES only the files with a finding and a count of the rest. */
function fileLines(perFile: readonly FileCounts[]): string {
  if (perFile.length <= 1) return '';
  if (perFile.length <= FILE_LINES) return perFile.map(fileLine).join('');
  const found = perFile.filter((f) => f.errors + f.warnings > 0);
  const rest = perFile.length - found.length;
  const others =
    rest === 0
      ? ''
      : `audit-ship lint: ${count(rest, found.length > 0 ? 'other file' : 'file')} with no finding (--summary json lists each file)\n`;
  return found.map(fileLine).join('') + others;
}

function fileLine(f: FileCounts): string {
  return `${printable(f.file)}: ${lineCounts(f)}; ${count(f.errors, 'error')}, ${count(f.warnings, 'warning')}\n`;
}

/**
 * Every line in exactly one count, as ship's summary has them: an invalid line need not be an
 * audit record (not JSON, cut, another program's JSON), so a count of records beside it never
 * added up ("3 records, 3 valid, 1 invalid").
 */
function lineCounts(c: Pick<LintCounts, 'lines' | 'valid' | 'invalid' | 'blank' | 'skipped'>): string {
  return `${count(c.lines, 'line')} read: ${c.valid} valid, ${c.invalid} invalid, ${c.blank + c.skipped} skipped`;
}
