/**
 * Where lint's reports go. One run may feed several CI reports (GitLab reads Code Quality JSON and
 * JUnit XML from one job): each `--output` file gets the `--format` given in the same place, as
 * node's own `--test-reporter` and `--test-reporter-destination` pair up, and stdout then gets
 * text for the job's log, unless one `--output` is `-` (stdout). Without `--output`, the one
 * `--format` goes to stdout.
 */
import { createWriteStream, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describeSystemError, OutputError, UsageError } from '../errors.js';
import { makeDirectory } from '../make-directory.js';
import type { LintFormat } from './lint-format.js';
import type { OwnOutput } from './own-outputs.js';
import { lintReport, type LintReport } from './lint-report.js';
import { TextOutput } from './output.js';
import { noColors, stdoutColors } from './tty.js';

export interface ReportOptions {
  /** Each --format given, in order; `text` when none was. */
  format: readonly LintFormat[];
  /** Each --output given, in order. */
  output: readonly string[];
}

/** The --output that names stdout, as `-` does for an input. */
export const STDOUT = '-';

/** A report and where it is written. */
export interface Sink {
  report: LintReport;
  out: TextOutput;
}

/** A report file and the format it is written in. */
export interface ReportFile {
  format: LintFormat;
  path: string;
}

/** Each report file with its format; checked before any input is read, so a usage error reads nothing. */
export function reportFiles(options: ReportOptions): ReportFile[] {
  const { format, output } = options;
  if (output.length === 0) {
    if (format.length > 1) throw new UsageError(`${format.length} --format and no --output: several reports need a file each`);
    return [];
  }
  if (format.length !== output.length) {
    throw new UsageError(
      `${format.length} --format and ${output.length} --output: each --output takes the --format given in the same place`,
    );
  }
  const seen = new Set<string>();
  for (const path of output) {
    if (seen.has(resolve(path))) throw new UsageError(`--output ${path} is given twice: each report needs a file of its own`);
    seen.add(resolve(path));
  }
  return output.map((path, i) => ({ format: format[i]!, path }));
}

/**
 * The start of each report as lint writes it: a report file kept among the logs it checks (a
 * CI job's `--output logs/report.json`) is found by the next run's directory or glob, and is left
 * out as this run's own (src/cli/own-outputs.ts) instead of stopping it ("does not write to a log
 * it reads", exit 2).
 */
const REPORT_HEADS: Record<LintFormat, RegExp> = {
  text: /^[^\n]*:\d+: (?:error|warning)[ :]/,
  json: /^\{"file":"(?:[^"\\]|\\.)*","line":\d+,"severity":"/,
  github: /^::(?:error|warning|notice) /,
  sarif: /^\{\s*"\$schema": "https:\/\/json\.schemastore\.org\/sarif-2\.1\.0\.json"/,
  junit: /^<\?xml version="1\.0" encoding="UTF-8"\?>\s*<testsuites name="audit-ship lint"/,
  gitlab: /^\[\s*(?:\]|\{\s*"description": )/,
};

/** The report files as outputs of this run, each known by its format's start. */
export function reportOutputs(files: readonly ReportFile[]): OwnOutput[] {
  return files
    .filter((f) => f.path !== STDOUT)
    .map(({ format, path }) => ({ option: '--output', path, holds: (head: string) => REPORT_HEADS[format].test(head) }));
}

/**
 * Opens every report file from reportFiles() (text on stdout beside them), or, with none, stdout
 * alone in the one --format given.
 */
export function openSinks(files: readonly ReportFile[], options: ReportOptions): { sinks: Sink[]; files: NodeJS.WritableStream[] } {
  if (files.length === 0) {
    return { sinks: [{ report: lintReport(options.format[0] ?? 'text', stdoutColors()), out: new TextOutput(process.stdout) }], files: [] };
  }
  // `--output -` is stdout, in its format: then no text goes there beside it.
  const toStdout = files.find((f) => f.path === STDOUT);
  const sinks: Sink[] = [
    {
      report: lintReport(toStdout?.format ?? 'text', toStdout && toStdout.format !== 'text' ? noColors() : stdoutColors()),
      out: new TextOutput(process.stdout),
    },
  ];
  const streams: NodeJS.WritableStream[] = [];
  for (const { format, path } of files) {
    if (path === STDOUT) continue;
    let fd: number;
    try {
      makeFolder(path);
      fd = openSync(path, 'w', 0o644);
    } catch (error) {
      for (const stream of streams) stream.end();
      throw new OutputError(`--output ${path}: ${describeSystemError(error)}`, { cause: error });
    }
    const stream = createWriteStream(path, { fd });
    streams.push(stream);
    sinks.push({ report: lintReport(format, noColors()), out: new TextOutput(stream, undefined, `--output ${path}`) });
  }
  return { sinks, files: streams };
}

/**
 * A CI job names a report under a folder it collects (reports/junit.xml): the folder is made if
 * missing, and when it cannot be, the error says why, for the file named. A file where the folder
 * goes is left to the open, which calls the path "not a directory".
 */
function makeFolder(path: string): void {
  try {
    makeDirectory(dirname(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/** Ends every report file, once each report is written to it. */
export async function closeFiles(files: readonly NodeJS.WritableStream[]): Promise<void> {
  await Promise.all(
    files.map((file) => new Promise<void>((done, fail) => file.end((error?: Error | null) => (error ? fail(error) : done())))),
  );
}
