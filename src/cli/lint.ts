/** `audit-ship lint`: checks audit logs against the schema and reports every finding. */
import { MAX_RECORD_DEPTH, MsgpackWriter } from '../msgpack/writer.js';
import { RuntimeLogJoiner } from '../input/runtime-log.js';
import { splitLines, type Line } from '../input/lines.js';
import { describePadding, splitAtPadding, type Padded } from '../input/nul-padding.js';
import { expandInputs, expansionNotes, otherNamesHint } from '../input/expand.js';
import { openSources } from '../input/open-sources.js';
import { totalBytesRead, type InputSource } from '../input/sources.js';
import { AuditShipError, InputReadError, NotTextError } from '../errors.js';
import { diagnostic, type Diagnostic } from '../schema/diagnostic.js';
import type { AuditRecordVerdict, ClassifyOptions } from '../schema/line.js';
import { LineJudge } from '../verdict/judge.js';
import { depthShipRejects, timeShipRejects } from '../verdict/ship-rejects.js';
import { refuseInputsAsOutputs } from './output-clash.js';
import { closeFiles, openSinks, reportFiles, reportOutputs, type ReportOptions, type Sink } from './lint-sinks.js';
import { leaveOutOwnOutputs, type OwnOutput } from './own-outputs.js';
import { EXIT, reportError } from './exit.js';
import { noteTerminalStdin } from './tty.js';
import { count, was } from '../plural.js';
import { appendStepSummary } from './github-summary.js';
import { emptyLintCounts, fileCounts, lintSummary, type FileCounts } from './lint-summary.js';

export interface LintOptions extends ClassifyOptions, ReportOptions {
  /** Warnings past this many fail the check (-1: never). */
  maxWarnings: number;
  /** No input files, no lines, or no audit record among them, is not a failure. */
  allowEmpty: boolean;
  maxErrors: number;
  maxLineBytes: number;
  summary: 'text' | 'json' | 'none';
}

/** lint found nothing to check: no input files matched. Exit 1, like a failed check. */
export class EmptyInputError extends AuditShipError {
  override readonly code = 'ERR_AUDIT_SHIP_EMPTY_INPUT';
}

class Linter {
  readonly counts = emptyLintCounts();
  stopped = false;
  /** The fast path's msgpack of a valid record goes to a scratch buffer and is dropped. */
  private readonly scratch = new MsgpackWriter(64 * 1024, MAX_RECORD_DEPTH);
  private readonly judge: LineJudge;

  constructor(
    private readonly options: LintOptions,
    /** Where diagnostics go: stdout, and with --output a file too. */
    private readonly sinks: readonly Sink[],
  ) {
    this.judge = new LineJudge(this.scratch, options);
  }

  /**
   * Checks every line of `source`. An input that cannot be read to its end (a truncated or corrupt
   * gzip, an I/O error, stdin found not to be text) is a finding of its own, after the last line
   * read, and the next input is checked: a CI job's report then names it beside everything else,
   * instead of no report at all. The error is returned, for the exit status.
   */
  async lintSource(source: InputSource): Promise<InputReadError | NotTextError | null> {
    let read = 0;
    const joiner = new RuntimeLogJoiner(this.options.maxLineBytes);
    try {
      for await (const batch of splitLines(source.chunks(), this.options)) {
        // Indexed, not for-of: with an await inside, each step of an array iterator allocates.
        for (let i = 0; i < batch.length; i++) {
          read = batch[i]!.number;
          const whole = joiner.wants(batch[i]!) ? joiner.take(batch[i]!) : batch[i]!;
          if (whole === null) continue;
          const pending = this.lintLine(source.name, whole);
          if (pending) await pending;
          if (this.stopped) return null;
        }
      }
      // The parts of a split line whose last part never came, checked as one line.
      for (const rest of joiner.rest()) await this.lintLine(source.name, rest);
    } catch (error) {
      if (!(error instanceof InputReadError || error instanceof NotTextError)) throw error;
      const unread = error instanceof NotTextError ? error.forCommand('lint') : error;
      const before = read > 0 ? `; the ${count(read, 'line')} before it ${was(read)} checked` : '';
      const pending = this.report(source.name, read + 1, [diagnostic('input-unreadable', null, `${unread.reason}${before}`)]);
      if (pending) await pending;
      return unread;
    }
    return null;
  }

  private lintLine(file: string, line: Line): Promise<void> | undefined {
    const c = this.counts;
    c.lines++;
    this.scratch.pos = 0;
    const verdict = this.judge.judge(line);
    const padded = verdict.kind === 'fast' ? null : splitAtPadding(line);
    if (padded) return this.lintParts(file, line, padded);
    switch (verdict.kind) {
      case 'fast': {
        c.records++;
        c.valid++;
        const rejects = timeShipRejects(verdict.seconds, verdict.nanoseconds);
        return rejects ? this.report(file, line.number, [rejects]) : undefined;
      }
      case 'blank':
        c.blank++;
        return undefined;
      case 'skipped':
        c.skipped++;
        return undefined;
      case 'record':
        c.records++;
        if (!verdict.valid) {
          c.invalid++;
          break;
        }
        c.valid++;
        return this.report(file, line.number, [...verdict.diagnostics, ...this.shipRejects(verdict)]);
      case 'rejected':
        c.invalid++;
        break;
    }
    return this.report(file, line.number, verdict.diagnostics);
  }

  /** A line with zero padding: a warning, then its parts, each checked as a line; padding alone counts as blank. */
  private async lintParts(file: string, line: Line, padded: Padded): Promise<void> {
    if (padded.parts.length === 0) this.counts.blank++;
    else this.counts.lines--;
    await this.report(file, line.number, [diagnostic('nul-padding', null, describePadding(padded))]);
    // Each part's findings are all written before the next part's, and none after --max-errors.
    for (const part of padded.parts) if (!this.stopped) await this.lintLine(file, part);
  }

  /** What `ship` would refuse in a valid record, the time before the depth, as ship checks them. */
  private shipRejects(verdict: AuditRecordVerdict): Diagnostic[] {
    const rejects = timeShipRejects(verdict.seconds, verdict.nanoseconds) ?? depthShipRejects(verdict.record, this.scratch);
    return rejects ? [rejects] : [];
  }

  /**
   * Counts the findings at one line, from `from` on, and hands them to every report; a promise
   * while one has no room. The next finding waits for that room: one line can hold 100,000 of
   * them (a key at every depth), and each full report would start a write and a wait of its own.
   */
  private report(file: string, lineNumber: number, diagnostics: readonly Diagnostic[], from = 0): Promise<void> | undefined {
    const c = this.counts;
    for (let i = from; i < diagnostics.length; i++) {
      const diagnostic = diagnostics[i]!;
      if (diagnostic.severity === 'error') c.errors++;
      else c.warnings++;
      let room: Promise<unknown> | undefined;
      for (const sink of this.sinks) {
        const text = sink.report.add({ file, line: lineNumber, diagnostic });
        const written = text ? sink.out.write(text) : undefined;
        if (written) room = room ? Promise.all([room, written]) : written;
      }
      if (this.options.maxErrors > 0 && c.errors >= this.options.maxErrors) {
        this.stopped = true;
        return room?.then(() => undefined);
      }
      if (room) return room.then(() => this.report(file, lineNumber, diagnostics, i + 1));
    }
    return undefined;
  }
}

/** The files to read; what was skipped or matched nothing is said on stderr. */
async function openLintInputs(files: string[], options: LintOptions, reports: readonly OwnOutput[]): Promise<InputSource[]> {
  await noteTerminalStdin(files, 'audit-ship lint', (text) => process.stderr.write(text));
  const expanded = expandInputs(files.length === 0 ? ['-'] : files);
  for (const note of expansionNotes(expanded)) process.stderr.write(`audit-ship lint: ${note}\n`);
  const { files: logs, left } = leaveOutOwnOutputs(reports, expanded.files, files);
  for (const text of left) process.stderr.write(`audit-ship lint: skipped ${text}\n`);
  if (logs.length === 0 && !options.allowEmpty) {
    throw new EmptyInputError(`no input files to check${otherNamesHint(expanded)} (--allow-empty accepts that)`);
  }
  try {
    return await openSources(logs);
  } catch (error) {
    throw error instanceof NotTextError ? error.forCommand('lint') : error;
  }
}

export async function lint(files: string[], options: LintOptions): Promise<void> {
  const reportTo = reportFiles(options);
  // The report files (`--output -` is stdout, not a file named "-").
  const outputs = reportOutputs(reportTo);
  const sources = await openLintInputs(files, options, outputs);
  refuseInputsAsOutputs(
    outputs.map((o) => [o.option, o.path] as const),
    sources.map((s) => s.path),
  );
  const { sinks, files: reports } = openSinks(reportTo, options);
  const linter = new Linter(options, sinks);
  const started = process.hrtime.bigint();
  const perFile: FileCounts[] = [];
  const unread: (InputReadError | NotTextError)[] = [];
  for (const source of sources) {
    const before = { ...linter.counts };
    const error = await linter.lintSource(source);
    if (error) unread.push(error);
    perFile.push(fileCounts(source.name, before, linter.counts));
    if (linter.stopped) break;
  }
  for (const sink of sinks) {
    await sink.out.write(sink.report.finish(perFile));
    await sink.out.flush();
    if (sink.report.stepSummary) appendStepSummary(sink.report.stepSummary(perFile), (text) => process.stderr.write(text));
  }
  await closeFiles(reports);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const c = linter.counts;
  c.bytes = totalBytesRead(sources);
  // Lines that hold no audit record (with --mixed, another program's logs; blank lines) leave as
  // little checked as none: a CI job over logs in a format audit-ship does not read passed.
  const empty = c.records === 0 && !options.allowEmpty;
  const tooManyWarnings = options.maxWarnings >= 0 && c.warnings > options.maxWarnings;
  if (options.summary !== 'none') {
    process.stderr.write(
      lintSummary(options.summary, { counts: c, perFile, seconds, stopped: linter.stopped, maxErrors: options.maxErrors }),
    );
  }
  // Said only where it is why the run fails: lines that are all errors fail it whatever --allow-empty says.
  if (empty && c.errors === 0) {
    const what = c.lines === 0 ? 'no lines to check' : `no audit record to check among the ${count(c.lines, 'line')} read`;
    process.stderr.write(`audit-ship lint: ${what} (--allow-empty accepts that)\n`);
  }
  if (tooManyWarnings)
    process.stderr.write(`audit-ship lint: ${count(c.warnings, 'warning')}, more than --max-warnings ${options.maxWarnings}\n`);
  // An input not read to its end is exit 2 whatever else was found: its other lines were never checked.
  for (const error of unread) reportError(error);
  process.exitCode = unread.length > 0 ? EXIT.usage : c.errors > 0 || empty || tooManyWarnings ? 1 : 0;
}
