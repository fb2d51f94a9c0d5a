/**
 * The job summary of `lint --format github` in GitHub Actions: GitHub annotates 10 errors and 10
 * warnings a step, so the run's page showed ten findings of a log failing on thousands. The
 * Markdown a step appends to the file `$GITHUB_STEP_SUMMARY` names is shown on that page: the
 * findings by code, how many of each and where the first is, and the files with the most.
 */
import { appendFileSync } from 'node:fs';
import { describeSystemError } from '../errors.js';
import { count } from '../plural.js';
import type { Located } from './lint-format.js';
import type { FileReport } from './lint-report.js';

/** Files listed in the summary, at most: the ones with the most errors, then warnings. */
export const SUMMARY_FILES = 20;

interface CodeTally {
  severity: string;
  count: number;
  first: Located;
}

/** Findings counted by code as they come, for the summary at the end. */
export class FindingTally {
  private readonly codes = new Map<string, CodeTally>();

  add(item: Located): void {
    const tally = this.codes.get(item.diagnostic.code);
    if (tally) tally.count++;
    else this.codes.set(item.diagnostic.code, { severity: item.diagnostic.severity, count: 1, first: item });
  }

  /** How many findings of `severity` there were. */
  found(severity: string): number {
    let n = 0;
    for (const t of this.codes.values()) if (t.severity === severity) n += t.count;
    return n;
  }

  /** The summary in Markdown, once every input is read. */
  markdown(files: readonly FileReport[]): string {
    const errors = sum(files, 'errors');
    const warnings = sum(files, 'warnings');
    const flagged = files.filter((f) => f.errors + f.warnings > 0);
    const out = ['### audit-ship lint', ''];
    const checked = `${count(files.length, 'file')}, ${count(sum(files, 'records'), 'record')} checked`;
    if (errors + warnings === 0) return [...out, `No findings (${checked}).`, '', ''].join('\n');
    out.push(`**${count(errors, 'error')}, ${count(warnings, 'warning')}** in ${flagged.length} of ${checked}.`, '');
    out.push('| finding | severity | count | first |', '| --- | --- | ---: | --- |');
    const byCount = [...this.codes].sort(([, a], [, b]) => b.count - a.count);
    for (const [code, t] of byCount) out.push(`| \`${code}\` | ${t.severity} | ${t.count} | ${cell(t.first.file)} line ${t.first.line} |`);
    out.push('', '| file | errors | warnings |', '| --- | ---: | ---: |');
    const worst = flagged.sort((a, b) => b.errors - a.errors || b.warnings - a.warnings).slice(0, SUMMARY_FILES);
    for (const f of worst) out.push(`| ${cell(f.file)} | ${f.errors} | ${f.warnings} |`);
    if (flagged.length > SUMMARY_FILES) out.push('', `and ${flagged.length - SUMMARY_FILES} more files with findings.`);
    return [...out, '', ''].join('\n');
  }
}

function sum(files: readonly FileReport[], key: 'errors' | 'warnings' | 'records'): number {
  return files.reduce((n, f) => n + f[key], 0);
}

/** A file name in a table cell: a code span, its pipes escaped, backticks (which would end it) replaced. */
function cell(name: string): string {
  return `\`${name
    .replace(/`/g, "'")
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]/g, ' ')}\``;
}

/**
 * Appends `markdown` to the step summary when the run is a GitHub Actions step; a failure to write
 * it is said on stderr and changes nothing else (the annotations and the log have every finding).
 */
export function appendStepSummary(markdown: string, note: (text: string) => void, env = process.env): void {
  const path = env.GITHUB_STEP_SUMMARY;
  if (!path) return;
  try {
    appendFileSync(path, markdown);
  } catch (error) {
    note(`audit-ship: cannot write the GitHub step summary ${path}: ${describeSystemError(error)}\n`);
  }
}
