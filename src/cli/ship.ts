/**
 * `audit-ship [ship]`: what a CLI does around a shipping run (src/ship/run.ts, which owns the
 * run): options into the run's parts, the progress line, signals, the summary and the exit code
 * (src/cli/exit.ts).
 */
import { existsSync } from 'node:fs';
import { AuditShipError, CheckpointError, InputError, UsageError } from '../errors.js';
import { expandInputs, otherNamesHint, skippedNotes, unmatchedNotes } from '../input/expand.js';
import { before } from '../schema/timestamp.js';
import type { ReadFailure } from '../ship/pipeline.js';
import type { ShipCounts } from '../ship/counts.js';
import type { PipelineHooks } from '../ship/pipeline-options.js';
import { ShipRun, type Note } from '../ship/run.js';
import { EXIT, shipOutcome, type Outcome } from './exit.js';
import { DEFAULT_COMPRESS_LEVEL, senderOptionsFrom, tagNote, tlsFilesFrom } from './forward-options.js';
import { diagnosticFormatter } from './lint-format.js';
import { invalidAllowed } from './options.js';
import { TextOutput } from './output.js';
import { refuseInputsAsOutputs, refuseSameFile } from './output-clash.js';
import { leaveOutOwnOutputs } from './own-outputs.js';
import { holdsCheckpoint } from '../ship/checkpoint.js';
import { holdsDeadLetters } from '../ship/dead-letter.js';
import { Progress } from './progress.js';
import { STOP_SIGNALS } from './process-guards.js';
import { shipSummary, summaryText } from './ship-summary.js';
import type { ShipOptions } from './ship-options.js';
import { noteTerminalStdin, stderrColors } from './tty.js';
import { count, inNumber, was } from '../plural.js';
import { printable } from '../printable.js';

export type { ShipOptions } from './ship-options.js';

/** Writes valid records to stdout (--stdout), a batch of lines at a time, waiting for 'drain'. */
function stdoutWriter() {
  // Never flushed by size: the pipeline flushes at the end of every batch and awaits it there.
  const out = new TextOutput(process.stdout, Infinity);
  return {
    write: (json: string) => void out.write(`${json}\n`),
    flush: () => out.flush(),
  };
}

function checkOptions(files: string[], options: ShipOptions): void {
  if (options.since && options.until && !before(options.since.seconds, options.since.nanoseconds, options.until)) {
    throw new UsageError('--since must be before --until');
  }
  // `--since 24h ago` unquoted, the form --help shows, leaves `ago` as an input: once "ago: no
  // such file or directory", which named neither the option nor the fix.
  const bound = options.since ? '--since' : options.until ? '--until' : null;
  if (bound && files.includes('ago') && !existsSync('ago')) {
    throw new UsageError(
      `${bound}: 'ago' was left as an input file; quote the span with it (${bound} '24h ago'), or give the span alone (${bound} 24h)`,
    );
  }
  if ((options.workers ?? 1) > 1) {
    const one = options.kubectl !== undefined ? '--kubectl' : options.rate > 0 ? '--rate' : options.stdout ? '--stdout' : null;
    // --rate is one limit and --stdout one ordered stream: neither splits across threads.
    if (one)
      throw new UsageError(
        `--workers ${options.workers} reads files in parallel; ${one} needs one reader: give --workers 1 or leave it out`,
      );
  }
  // KUBECTL set empty once reached spawn(): an internal error. Checked only when kubectl is run.
  if (options.kubectl !== undefined && options.kubectlCommand === '') {
    throw new UsageError('--kubectl-command (or KUBECTL) is empty: give the kubectl to run, or leave it unset for kubectl on PATH');
  }
  refuseSameFile(['--checkpoint', options.checkpoint], ['--dead-letter', options.deadLetter]);
  // (--kubectl with --checkpoint is refused by commander.)
  if (options.checkpoint !== undefined && (files.length === 0 || files.includes('-'))) {
    throw new UsageError('--checkpoint applies to input files; stdin cannot be re-read from a position');
  }
}

/**
 * The files to read: directories searched for log files and quoted globs matched, as `lint` does,
 * so that a backfill of more rotated files than a command line holds can be named. What was left
 * out is said on stderr. Names that come to no file at all are an error: stdin is read only when
 * no input is named, never in place of a directory that turned out empty.
 */
function inputFiles(files: string[], options: ShipOptions, info: Note, note: Note): string[] {
  if (files.length === 0 || options.kubectl !== undefined) return files;
  const expanded = expandInputs(files);
  for (const text of skippedNotes(expanded)) info(`audit-ship: ${text}\n`);
  for (const text of unmatchedNotes(expanded)) note(`audit-ship: ${text}\n`);
  const outputs = [
    { option: '--dead-letter', path: options.deadLetter, holds: holdsDeadLetters },
    { option: '--checkpoint', path: options.checkpoint, holds: holdsCheckpoint },
  ];
  const { files: logs, left } = leaveOutOwnOutputs(outputs, expanded.files, files);
  for (const text of left) info(`audit-ship: skipped ${text}\n`);
  if (logs.length === 0) {
    throw new InputError(
      `no input files: ${files.join(', ')} named no .log, .jsonl, .json, .ndjson or .gz file${otherNamesHint(expanded)}`,
    );
  }
  return logs;
}

/** Invalid lines whose diagnostics a run prints on stderr; the rest are counted, not printed. */
export const PRINTED_INVALID_LINES = 100;
/** Diagnostics printed for one line: a line of 4 MiB can hold 100,000 (a bad key in every nested object). */
export const PRINTED_FINDINGS_PER_LINE = 20;

/**
 * Prints each invalid line's diagnostics on stderr, up to PRINTED_INVALID_LINES: a backfill over a
 * schema change printed 12 lines of stderr for each of millions of lines, and cron mails stderr.
 * The summary counts every one by code, and --dead-letter keeps every one.
 */
function invalidLines(note: Note, deadLetter: string | undefined): PipelineHooks['onInvalid'] {
  const report = diagnosticFormatter('text', stderrColors());
  let printed = 0;
  const kept = deadLetter === undefined ? 'run `audit-ship lint` on the input to list them' : `--dead-letter ${deadLetter} keeps them`;
  return (file, line, diagnostics) => {
    if (++printed <= PRINTED_INVALID_LINES) {
      const shown = diagnostics.slice(0, PRINTED_FINDINGS_PER_LINE).map((d) => report({ file, line: line.number, diagnostic: d }));
      const more = diagnostics.length - PRINTED_FINDINGS_PER_LINE;
      if (more > 0)
        shown.push(
          `${printable(file)}:${line.number}: and ${more.toLocaleString('en')} more findings on this line, not printed: ${kept}\n`,
        );
      return note(shown.join(''));
    }
    if (printed > PRINTED_INVALID_LINES + 1) return;
    note(
      `audit-ship: more invalid lines than the ${PRINTED_INVALID_LINES} printed: the rest are not printed; the summary (by code with --summary json) and ` +
        `the metric audit_ship_records_invalid_total count every one, and ${kept}\n`,
    );
  };
}

export async function ship(names: string[], options: ShipOptions): Promise<void> {
  // Every check that can fail comes before the first byte of input is read.
  checkOptions(names, options);
  let progress: Progress | null = null;
  const note: Note = (text) => (progress ? progress.message(text) : process.stderr.write(text));
  // --quiet: a cron job mails whatever reaches stderr, so a run with nothing to attend to says nothing.
  const info: Note = options.quiet ? () => {} : note;
  const files = inputFiles(names, options, info, note);
  const inputs = options.kubectl !== undefined ? [] : files.length === 0 ? [null] : files.map((f) => (f === '-' ? null : f));
  refuseInputsAsOutputs(
    [
      ['--dead-letter', options.deadLetter],
      ['--checkpoint', options.checkpoint],
    ],
    inputs,
  );
  if (options.kubectl === undefined) await noteTerminalStdin(files, 'audit-ship', note);
  if (options.tlsInsecure) {
    note(
      "audit-ship: warning: --tls-insecure: the server's certificate is not checked, so anyone on the path can read and alter the records; use --tls-ca instead\n",
    );
  }
  const outsideMatch = tagNote(options.tag);
  if (outsideMatch) info(outsideMatch);
  const tls = tlsFilesFrom(options, note, info);
  const run = await ShipRun.open(files, options, {
    note,
    info,
    sender: senderOptionsFrom(options, tls),
    tlsExpiries: tls ? () => tls.expiries() : undefined,
    pipeline: {
      gzipLevel: options.compress === 'gzip' ? (options.compressLevel ?? DEFAULT_COMPRESS_LEVEL) : null,
      onInvalid: invalidLines(note, options.deadLetter),
      writer: options.stdout ? stdoutWriter() : null,
    },
  });
  const onSignal = (signal: NodeJS.Signals) => run.stopFor(signal);
  // `kill -USR1 PID`: the run so far, as dd says it, for a backfill from cron or a pod with no status line.
  const onStatus = () =>
    process.stderr.write(
      `audit-ship: SIGUSR1: the run so far\n${summaryText(shipSummary(run.counts, run.spool.stats, run.elapsedSeconds))}\n`,
    );
  let seconds: number;
  try {
    // A terminal that reports no width (some pseudo-terminals) makes the spinner clear line after line.
    const terminal = process.stderr.isTTY === true && (process.stderr.columns ?? 0) > 0;
    progress = await Progress.create(run.counts, run.spool.stats, run.sources, options.progress && !options.quiet && terminal);
    for (const s of STOP_SIGNALS) process.on(s, onSignal);
    process.on('SIGUSR1', onStatus);
    progress.start();
    seconds = await run.run();
  } finally {
    progress?.stop();
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
    process.off('SIGUSR1', onStatus);
    await run.close();
  }
  const unlike = options.kubectl === undefined ? noAuditRecords(run.counts) : null;
  if (unlike) info(unlike);
  const outcome = decideOutcome(run);
  const { error } = run;
  summarize(run, outcome, error, seconds);
  if (error) throw error;
  process.exitCode = outcome.code;
}

/**
 * The summary and the outcome in words. After a fatal error (reported last, by main) the words
 * still say what stays in the spool; with --summary json the JSON stays the last line, for scripts.
 */
function summarize(run: ShipRun, outcome: Outcome, error: unknown, seconds: number): void {
  const { options } = run;
  const summary = {
    ...shipSummary(run.counts, run.spool.stats, seconds),
    exitCode: error ? EXIT.failure : outcome.code,
    outcome: outcome.words,
  };
  const ok = outcome.code === EXIT.ok;
  // --quiet drops the text summary; a JSON one was asked for by a script, and stays.
  const kind = options.quiet && options.summary === 'text' ? 'none' : options.summary;
  // "complete" is not said after a fatal error, and not at all with --summary none or --quiet.
  const said = error ? !ok : (kind !== 'none' && !options.quiet) || !ok;
  const prefix = error || ok ? '' : `exit ${outcome.code}: `;
  const words = said ? outcome.words.map((w) => `audit-ship: ${prefix}${w}\n`).join('') : '';
  if (kind === 'json') process.stderr.write(`${words}${JSON.stringify(summary)}\n`);
  else process.stderr.write(`${kind === 'text' ? `${summaryText(summary)}\n` : ''}${words}`);
}

/**
 * Lines were read and not one was an audit record: every one skipped as another program's log.
 * An input in a format audit-ship does not read ends like that, "complete" with exit 0, as the
 * container runtimes' files once did. Not under --quiet: a cron job over a log that mixes in
 * application logs may read an hour of those alone. Not for a live tail, whose pods log both.
 */
function noAuditRecords(c: ShipCounts): string | null {
  if (c.skipped === 0 || c.valid + c.invalid + c.duplicates + c.filtered > 0) return null;
  const none = c.skipped === 1 ? 'the one line read is no audit record' : `none of the ${c.skipped} lines read is an audit record`;
  return `audit-ship: warning: ${none} (skipped as another program's log): are these the audit logs? audit-ship reads JSON lines, bare or in kubectl's, CRI's, Docker json-file's, Fluentd out_file's, syslog's or audit-ship receive's framing\n`;
}

/** Why an input stopped, without its name (the outcome names it): what failed, and what was read before. */
function describeReadFailure(f: ReadFailure): string {
  return f.linesRead > 0
    ? `${f.error.reason}; its first ${count(f.linesRead, 'line')} ${was(f.linesRead)} read and ${inNumber(f.linesRead, 'is', 'are')} accounted for`
    : f.error.reason;
}

/** What the inputs past the third have in common, said once for them all. */
function sameWhy(rest: { why: string }[]): string {
  return rest.every((u) => u.why === rest[0]!.why) ? rest[0]!.why : 'not read to their end';
}

function decideOutcome(run: ShipRun): Outcome {
  const { options, sources, counts, spool, stop } = run;
  const why = stop.writeFailure
    ? `stopped: ${stop.writeFailure.message}`
    : stop.signal
      ? `stopped by ${stop.signal}`
      : stop.gaveUp
        ? `stopped: ${stop.gaveUp.message}`
        : run.error instanceof AuditShipError
          ? `stopped by the fatal error ${run.error.code}`
          : 'not reached';
  // A live tail has no end: a signal is its normal stop, and any other (giving up, a failed write) leaves it unread.
  const unreadSources = sources.filter((s) => !s.exhausted && !(s.live && stop.signal));
  const unread = unreadSources.map((s) => {
    const failure = stop.readFailures.find((f) => f.source === s);
    return { name: s.name, why: failure ? describeReadFailure(failure) : why };
  });
  // Files can be read again from their start; stdin and FIFOs cannot. Records read but not spooled
  // may come from inputs read to their end: then the hint is about every input.
  const hinted = unreadSources.length > 0 ? unreadSources : sources;
  const named = hinted.map((s) => (s.name === '<stdin>' ? 'stdin' : s.name)).join(', ');
  const resumeHint =
    options.checkpoint !== undefined
      ? `run the same command again to resume from the checkpoint ${options.checkpoint}`
      : hinted.some((s) => s.live)
        ? 'the next run with this spool resumes each stream where it stopped'
        : hinted.some((s) => s.path !== null)
          ? 'no --checkpoint was given, so a re-run reads those inputs from their start (with --checkpoint FILE it resumes)'
          : unreadSources.length > 0
            ? `the rest of ${named} was not read`
            : `${named} cannot be read again: send that input again`;
  return shipOutcome({
    unread: unread.length > 3 ? [...unread.slice(0, 3), { name: `${unread.length - 3} more`, why: sameWhy(unread.slice(3)) }] : unread,
    resumeHint,
    leftInSpool: spool.stats.records,
    spoolDir: options.spoolDir,
    notSpooled: counts.recordsNotSpooled,
    notSpooledWhy: stop.writeFailure?.message ?? 'the run stopped first',
    checkpointBehind:
      stop.writeFailure instanceof CheckpointError && unread.length === 0 && counts.recordsNotSpooled === 0
        ? stop.writeFailure.message
        : null,
    dropped: spool.stats.droppedRecords,
    spoolLost: spool.stats.lostRanges,
    vanished: spool.stats.vanishedRecords,
    checkpoint: options.checkpoint ?? null,
    rereadsInputs: options.checkpoint === undefined && !sources.some((s) => s.live) && counts.lines > 0,
    invalid: counts.invalid,
    deadLetter: options.deadLetter ?? null,
    deadLettered: counts.deadLettered,
    deadLetteredWithoutText: counts.deadLetteredWithoutText,
    invalidAllowed: invalidAllowed(options.maxInvalid, counts.valid + counts.invalid),
    liveStoppedBy: sources.some((s) => s.live) && stop.signal ? stop.signal : null,
    unreached: counts.chunksSent === 0 ? run.unreached : null,
    refused: run.refusedServers,
  });
}
