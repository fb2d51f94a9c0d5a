/**
 * The documents `lint` writes for CI systems, whole at the end: SARIF 2.1.0 for code-scanning
 * tools, JUnit XML for Jenkins, GitLab and Azure Pipelines, and GitLab Code Quality JSON. The
 * streaming formats (text, json, github) are in lint-format.ts; both kinds go through LintReport.
 */
import { createHash } from '../crypto.js';
import type { Colors } from './tty.js';
import { DIAGNOSTIC_CODES, DIAGNOSTIC_HELP, type DiagnosticCode } from '../schema/diagnostic.js';
import { version } from '../version.js';
import { diagnosticFormatter, type LintFormat, type Located } from './lint-format.js';
import { count } from '../plural.js';
import { FindingTally } from './github-summary.js';
import { repoPaths, type RootVariable } from './repo-path.js';

/** One input's counts, for the documents that describe every file. */
export interface FileReport {
  file: string;
  records: number;
  errors: number;
  warnings: number;
}

/**
 * The findings a document lists, at most. The documents are built in memory and written at the
 * end, and a log that fails a schema change on every line has a finding a line: 1.8 million of
 * them took 4.3 GB and 45 s as JUnit, and more would exhaust node's heap. CI systems show far fewer
 * (GitHub code scanning takes 25,000 results a SARIF run and shows 5,000). Past this many,
 * findings are counted, not listed; the document says how many it left out, and the streaming
 * formats (`--format json`) give every one.
 */
export const MAX_LISTED_FINDINGS = 10_000;

/** The findings a document lists, and what it left out. */
class Listed {
  readonly items: Located[] = [];
  /** Findings past MAX_LISTED_FINDINGS, counted. */
  left = 0;
  /** The first finding not listed: where the document says the rest begin. */
  firstLeft: Located | null = null;

  add(item: Located): void {
    if (this.items.length < MAX_LISTED_FINDINGS) this.items.push(item);
    else {
      this.left++;
      this.firstLeft ??= item;
    }
  }

  /** What the document says of the findings it left out. */
  get note(): string {
    return `${count(this.left, 'more finding')} not listed: the report holds the first ${MAX_LISTED_FINDINGS}; --format json lists every one`;
  }
}

export interface LintReport {
  /** Takes one diagnostic; returns text to write now (streaming formats) or nothing. */
  add(item: Located): string | undefined;
  /** The document, once every input is read (empty for streaming formats). */
  finish(files: readonly FileReport[]): string;
  /** Markdown for a GitHub Actions job summary, once every input is read (github only). */
  stepSummary?(files: readonly FileReport[]): string;
}

const message = (item: Located) =>
  item.diagnostic.field === null ? item.diagnostic.message : `${item.diagnostic.field}: ${item.diagnostic.message}`;

/** A file name as a SARIF artifact URI (a relative reference; `<stdin>` escaped). */
const uri = (file: string) => encodeURI(file.split('\\').join('/'));

function sarif({ items, left, note }: Listed): string {
  const codes = Object.keys(DIAGNOSTIC_CODES) as DiagnosticCode[];
  const rules = codes.map((code) => ({
    id: code,
    shortDescription: { text: DIAGNOSTIC_HELP[code] },
    help: { text: DIAGNOSTIC_HELP[code] },
    defaultConfiguration: { level: DIAGNOSTIC_CODES[code] },
  }));
  const results = items.map((item) => ({
    ruleId: item.diagnostic.code,
    ruleIndex: codes.indexOf(item.diagnostic.code as DiagnosticCode),
    level: item.diagnostic.severity,
    message: { text: message(item) },
    locations: [{ physicalLocation: { artifactLocation: { uri: uri(item.file) }, region: { startLine: item.line } } }],
  }));
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'audit-ship', version: version(), rules } },
        ...(left > 0
          ? { invocations: [{ executionSuccessful: true, toolExecutionNotifications: [{ level: 'warning', message: { text: note } }] }] }
          : {}),
        results,
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

/** XML text: the five entities escaped, and the control characters XML 1.0 cannot hold dropped. */
function xml(s: string): string {
  return (
    s
      // eslint-disable-next-line no-control-regex -- exactly the characters XML 1.0 forbids
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

/**
 * An XML attribute value: as xml(), with tabs and line ends as character references, which XML
 * parsers keep (written raw, a parser reads each as a space: a file name with a newline in it came
 * back another name).
 */
function attr(s: string): string {
  return xml(s).replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}

/**
 * A testsuite per file, a testcase per line with a problem (a `<failure>` when it has an error), one
 * passing case for a clean file; findings left out, as a failing suite of their own.
 */
function junit(listed: Listed, files: readonly FileReport[]): string {
  let failures = 0;
  let tests = 0;
  // Each file's findings by line, in one pass over them.
  const byFile = new Map<string, Map<number, Located[]>>();
  for (const item of listed.items) {
    let byLine = byFile.get(item.file);
    if (!byLine) byFile.set(item.file, (byLine = new Map()));
    const found = byLine.get(item.line);
    if (found) found.push(item);
    else byLine.set(item.line, [item]);
  }
  const suites = files.map(({ file, records, errors, warnings }) => {
    const byLine = byFile.get(file) ?? new Map<number, Located[]>();
    const cases = [...byLine.entries()].map(([line, found]) => {
      const errors = found.filter((f) => f.diagnostic.severity === 'error');
      const details = xml(found.map((f) => `${f.diagnostic.severity} [${f.diagnostic.code}] ${message(f)}`).join('\n'));
      const body =
        errors.length > 0
          ? `<failure message="${attr(message(errors[0]!))}" type="${attr(errors[0]!.diagnostic.code)}">${details}</failure>`
          : `<system-out>${details}</system-out>`;
      return `    <testcase name="line ${line}" classname="${attr(file)}">${body}</testcase>\n`;
    });
    const fileFailures = cases.filter((c) => c.includes('<failure')).length;
    if (errors + warnings === 0) cases.push(`    <testcase name="${count(records, 'record')} valid" classname="${attr(file)}"/>\n`);
    failures += fileFailures;
    tests += cases.length;
    return `  <testsuite name="${attr(file)}" tests="${cases.length}" failures="${fileFailures}" errors="0">\n${cases.join('')}  </testsuite>\n`;
  });
  if (listed.left > 0) {
    const { file, line } = listed.firstLeft!;
    const note = `${listed.note}; the first of them at ${file}:${line}`;
    suites.push(
      `  <testsuite name="findings not listed" tests="1" failures="1" errors="0">\n    <testcase name="${count(listed.left, 'more finding')}" classname="audit-ship lint"><failure message="${attr(note)}" type="findings-not-listed">${xml(note)}</failure></testcase>\n  </testsuite>\n`,
    );
    tests++;
    failures++;
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="audit-ship lint" tests="${tests}" failures="${failures}">\n${suites.join('')}</testsuites>\n`;
}

/** One issue of a GitLab Code Quality report. */
interface CodeQualityIssue {
  description: string;
  check_name: string;
  fingerprint: string;
  severity: 'major' | 'minor' | 'info';
  location: { path: string; lines: { begin: number } };
}

/** GitLab Code Quality: a fingerprint stable across runs for the same finding at the same place. */
function gitlab({ items, left, firstLeft, note }: Listed): string {
  const seen = new Map<string, number>();
  const issues = items.map((item): CodeQualityIssue => {
    const { code, field, severity } = item.diagnostic;
    const key = `${item.file}\0${item.line}\0${code}\0${field ?? ''}`;
    const repeat = seen.get(key) ?? 0;
    seen.set(key, repeat + 1);
    return {
      description: message(item),
      check_name: code,
      fingerprint: createHash('sha256').update(`${key}\0${repeat}`).digest('hex'),
      severity: severity === 'error' ? 'major' : 'minor',
      location: { path: item.file, lines: { begin: item.line } },
    };
  });
  // What was left out, where the first of it is: an issue must have a place.
  if (left > 0)
    issues.push({
      description: note,
      check_name: 'findings-not-listed',
      fingerprint: createHash('sha256').update('findings-not-listed').digest('hex'),
      severity: 'info',
      location: { path: firstLeft!.file, lines: { begin: firstLeft!.line } },
    });
  return `${JSON.stringify(issues, null, 2)}\n`;
}

/**
 * GitHub annotates this many errors, and as many warnings, a step, and drops the rest without a
 * word: a log failing on 5,000 lines showed 10 annotations, as if that were all.
 */
export const GITHUB_ANNOTATIONS_PER_KIND = 10;

/** Annotations as found; at the end, a notice of how many there were when GitHub shows only some. */
function github(colors: Colors): LintReport {
  const line = diagnosticFormatter('github', colors);
  const tally = new FindingTally();
  return {
    add: (item) => {
      tally.add(item);
      return line(item);
    },
    stepSummary: (files) => tally.markdown(files),
    finish: () => {
      const [errors, warnings] = [tally.found('error'), tally.found('warning')];
      if (errors <= GITHUB_ANNOTATIONS_PER_KIND && warnings <= GITHUB_ANNOTATIONS_PER_KIND) return '';
      const total = `${count(errors, 'error')} and ${count(warnings, 'warning')}`;
      const note = `${total}: GitHub annotates the first ${GITHUB_ANNOTATIONS_PER_KIND} of each a step; this step's log lists every one`;
      return `::notice title=audit-ship lint::${note}\n`;
    },
  };
}

/** The repository root a CI format's file names are relative to (src/cli/repo-path.ts); text and json keep them as given. */
const ROOTS: Partial<Record<LintFormat, RootVariable>> = {
  github: 'GITHUB_WORKSPACE',
  sarif: 'GITHUB_WORKSPACE',
  gitlab: 'CI_PROJECT_DIR',
};

export function lintReport(format: LintFormat, colors: Colors): LintReport {
  const root = ROOTS[format];
  if (root) {
    const report = formatReport(format, colors);
    const place = repoPaths(root);
    const placed = (files: readonly FileReport[]) => files.map((f) => ({ ...f, file: place(f.file) }));
    const { stepSummary } = report;
    return {
      add: (item) => report.add({ ...item, file: place(item.file) }),
      finish: (files) => report.finish(placed(files)),
      ...(stepSummary ? { stepSummary: (files: readonly FileReport[]) => stepSummary(placed(files)) } : {}),
    };
  }
  return formatReport(format, colors);
}

function formatReport(format: LintFormat, colors: Colors): LintReport {
  if (format === 'github') return github(colors);
  if (format === 'text' || format === 'json') {
    const line = diagnosticFormatter(format, colors);
    return { add: line, finish: () => '' };
  }
  const listed = new Listed();
  const add = (item: Located) => void listed.add(item);
  switch (format) {
    case 'sarif':
      return { add, finish: () => sarif(listed) };
    case 'junit':
      return { add, finish: (files) => junit(listed, files) };
    case 'gitlab':
      return { add, finish: () => gitlab(listed) };
  }
}
