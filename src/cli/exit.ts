/**
 * The exit-status contract: the one place that turns an outcome into an exit code, for every
 * command. 0 from `ship` means every input was read to its end, every valid record acked, nothing
 * left in the spool, and no line lost. Every other outcome has a code of its own, so that
 * `audit-ship logs-*.gz && rm logs-*.gz` never deletes what was not delivered. docs/exit-codes.md
 * is checked against EXIT_CODES by a test (test/docs/readme.test.ts).
 */
import { CommanderError } from 'commander';
import { AuditShipError, InputError, ListenError, OutputError, UsageError } from '../errors.js';
import { stderrColors } from './tty.js';
import { count, inNumber, was } from '../plural.js';
import { printable } from '../printable.js';

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  leftInSpool: 3,
  inputUnread: 4,
  invalidNotKept: 5,
  dropped: 6,
} as const;

export type ExitName = keyof typeof EXIT;

/** What each code means, for people: docs/exit-codes.md says the same (a test compares them). */
export const EXIT_CODES: readonly { code: number; name: ExitName; meaning: string }[] = [
  {
    code: EXIT.ok,
    name: 'ok',
    meaning:
      'ship: every input read to its end, every valid record acked, the spool empty, no invalid line lost (none, kept by --dead-letter, or within --max-invalid). lint: no errors',
  },
  {
    code: EXIT.failure,
    name: 'failure',
    meaning:
      'a fatal error: authentication or TLS refused by every server (one of several is passed over), a spool or checkpoint that cannot be opened, a spool taken over by another shipper, a checkpoint that could not be written once every input was read (the records are delivered; the checkpoint is behind them); lint: errors found, or nothing to check (no input files, no lines, or no audit record among them, without --allow-empty). What was not acked stays in the spool',
  },
  {
    code: EXIT.usage,
    name: 'usage',
    meaning:
      'usage error: an unknown command or option, a bad or contradictory value, an input or output that cannot be opened, an input file that is not text lines. No input was read. lint: also an input that failed partway (a truncated `.gz`): the lines before the fault and every other input are checked and reported',
  },
  {
    code: EXIT.leftInSpool,
    name: 'leftInSpool',
    meaning:
      'every input was read, but records were not acked and stay in the spool (Fluentd unreachable past --retry-timeout, or the shutdown timeout passed); the next run sends them first (without --checkpoint, the end says how to send only them: the same command with no input, as the same command with its inputs would send their records again)',
  },
  {
    code: EXIT.inputUnread,
    name: 'inputUnread',
    meaning:
      'an input was not read to its end: stopped by a signal, by --retry-timeout (nothing could be delivered for that long), by a spool, checkpoint or dead-letter write that failed (a full disk: the message names the path and errno), or by an input found truncated, corrupt, not text, or deleted or replaced by another file (rotated) since the run started (such an input is left at its fault and the inputs after it are still read). With --checkpoint, the same command resumes where it stopped',
  },
  {
    code: EXIT.invalidNotKept,
    name: 'invalidNotKept',
    meaning:
      'invalid lines were reported but not kept: more than --max-invalid, and no --dead-letter file (or lines over --max-line-bytes, whose dead letter cannot hold their text)',
  },
  {
    code: EXIT.dropped,
    name: 'dropped',
    meaning:
      "records were lost from the spool unsent: deleted from a full spool (--spool-overflow drop-oldest), or found damaged on disk between good chunks (set aside in the spool's damaged/ folder; damage at the end of a segment, as a crash mid-write leaves, is not counted), or deleted or changed in the spool by something other than audit-ship (a person, a cleaner of old files, the disk) before their acks",
  },
];

/** What a shipping run ended with, hop by hop: the facts the exit code is decided from. */
export interface ShipFacts {
  /** Inputs not read to their end, each with why. */
  unread: { name: string; why: string }[];
  /** How to read the rest: with --checkpoint, the same command resumes. */
  resumeHint: string;
  leftInSpool: number;
  spoolDir: string;
  /** Valid records read but never written to the spool, and why (a spool, checkpoint or dead-letter write failed). */
  notSpooled: number;
  notSpooledWhy: string;
  /** A checkpoint write that failed once every input was read and spooled: nothing else says it. */
  checkpointBehind: string | null;
  dropped: number;
  /** Damaged spool ranges with a good chunk after them: what was spooled, lost (SpoolStats.lostRanges). */
  spoolLost: number;
  /** Records whose spool files were deleted by something other than audit-ship before their acks (SpoolStats.vanishedRecords). */
  vanished: number;
  /** The --checkpoint file, which records lines once spooled: a re-run with it skips records lost from the spool. */
  checkpoint: string | null;
  /** Lines were read, with no --checkpoint and no live tail to skip them: the same command again would send their records again. */
  rereadsInputs: boolean;
  invalid: number;
  /** The --dead-letter file, or null without one. */
  deadLetter: string | null;
  /** Invalid lines written to --dead-letter. */
  deadLettered: number;
  /** Of those, lines over --max-line-bytes, whose text their letter cannot hold: not kept. */
  deadLetteredWithoutText: number;
  /** How many invalid lines --max-invalid accepts without a dead-letter file. */
  invalidAllowed: number;
  /** The signal that ended a live tail (--kubectl), which has no end of its own; null otherwise. */
  liveStoppedBy: string | null;
  /** The last connect error of a run that reached no server and sent nothing; null otherwise. */
  unreached: string | null;
  /** Why each server that refused this client at its last try did (the others took its chunks). */
  refused: string[];
}

export interface Outcome {
  code: number;
  /** One sentence per thing that went wrong, most important first; a single sentence when all went well. */
  words: string[];
}

/** Decides the exit code: the most urgent case wins (unread input, then unacked, dropped, lost invalid lines). */
export function shipOutcome(f: ShipFacts): Outcome {
  const cases: { code: number; text: string }[] = [];
  if (f.unread.length > 0) {
    // A name may hold any byte but a slash (src/printable.ts).
    const which = f.unread.map((u) => printable(`${u.name}: ${u.why}`)).join('; ');
    cases.push({ code: EXIT.inputUnread, text: `input not fully read: ${which}; ${f.resumeHint}` });
  }
  if (f.notSpooled > 0) {
    cases.push({
      code: EXIT.inputUnread,
      text: `${count(f.notSpooled, 'record')} ${was(f.notSpooled)} read but not written to the spool (${f.notSpooledWhy}); ${inNumber(f.notSpooled, 'it', 'they')} must be read again: ${f.resumeHint}`,
    });
  }
  if (f.checkpointBehind !== null) {
    cases.push({
      code: EXIT.failure,
      text: `${f.checkpointBehind}: every input was read and spooled, but the checkpoint is behind; a re-run with it reads the last records again`,
    });
  }
  if (f.leftInSpool > 0)
    cases.push({
      code: EXIT.leftInSpool,
      text: `${count(f.leftInSpool, 'record')} ${was(f.leftInSpool)} not acked and ${inNumber(f.leftInSpool, 'stays', 'stay')} in the spool ${f.spoolDir}; the next run sends ${inNumber(f.leftInSpool, 'it', 'them')} first${
        f.rereadsInputs && f.unread.length === 0
          ? `; to send only ${inNumber(f.leftInSpool, 'it', 'them')}, run the same command with no input (\`< /dev/null\`): with its inputs it would send their records again`
          : ''
      }`,
    });
  if (f.dropped > 0)
    cases.push({
      code: EXIT.dropped,
      text: `${count(f.dropped, 'record')} ${was(f.dropped)} dropped unsent from the full spool (--spool-overflow drop-oldest)`,
    });
  if (f.spoolLost > 0)
    cases.push({
      code: EXIT.dropped,
      text: `${count(f.spoolLost, 'damaged spool range')} between good chunks ${was(f.spoolLost)} set aside in ${f.spoolDir}/damaged: damage to what was spooled, not a write a crash cut; the records in ${inNumber(f.spoolLost, 'it', 'them')} are lost${checkpointSkips(f.checkpoint)}`,
    });
  if (f.vanished > 0)
    cases.push({
      code: EXIT.dropped,
      text: `${count(f.vanished, 'record')} ${was(f.vanished)} lost unsent: the spool files holding ${inNumber(f.vanished, 'it', 'them')} in ${f.spoolDir} were deleted or changed by something other than audit-ship (said above, file by file); ${inNumber(f.vanished, 'its', 'their')} input must be read again to ship ${inNumber(f.vanished, 'it', 'them')}${checkpointSkips(f.checkpoint)}`,
    });
  const lost = f.invalid - f.deadLettered + f.deadLetteredWithoutText;
  if (lost > 0 && f.invalid > f.invalidAllowed) {
    cases.push({
      code: EXIT.invalidNotKept,
      text: `${count(lost, 'invalid line')} ${was(lost)} not kept (${notKeptWhy(lost, f.deadLetteredWithoutText, f.deadLetter)}; --max-invalid allows ${f.invalidAllowed})`,
    });
  }
  if (cases.length === 0) {
    const invalid =
      f.invalid > 0
        ? f.deadLettered === f.invalid && f.deadLetteredWithoutText === 0
          ? ` (${inNumber(f.invalid, 'the invalid line', `the ${f.invalid} invalid lines`)} kept in --dead-letter)`
          : ` (${count(f.invalid, 'invalid line')} within --max-invalid)`
        : '';
    // A live tail is never read to its end: its stop is the signal, and its positions carry it on.
    const read =
      f.liveStoppedBy === null
        ? 'every input read to its end'
        : `following stopped by ${f.liveStoppedBy}, the next run with this spool resumes each stream where it stopped`;
    // The "retrying" notes said a server was down: nothing needed it, and the end says that.
    const sent =
      f.unreached === null
        ? `every valid record acked${invalid}`
        : `no record to send${invalid}, and no server was reached (the last try: ${f.unreached})`;
    // Nothing lost, but a server of the pool is set up apart from the others: said where cron's mail shows it.
    const passedOver = f.refused.length > 0 ? `; passed over: ${f.refused.join('; ')}` : '';
    return { code: EXIT.ok, words: [`complete: ${read}, ${sent}${passedOver}`] };
  }
  return { code: cases[0]!.code, words: cases.map((c) => c.text) };
}

/**
 * A checkpoint records lines once they are in the spool: records lost from it are behind the
 * checkpoint, and "read the input again" with it skips them.
 */
function checkpointSkips(checkpoint: string | null): string {
  if (checkpoint === null) return '';
  return `; the checkpoint ${checkpoint} counts their lines as shipped and a re-run with it skips them: read the inputs again with a new --checkpoint (records already acked are sent again)`;
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (error instanceof UsageError || error instanceof InputError || error instanceof OutputError || error instanceof ListenError)
    return EXIT.usage;
  return EXIT.failure;
}

/** `--debug` or AUDIT_SHIP_DEBUG=1: print stack traces of internal errors. */
export function debugWanted(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--debug') || /^(1|true|yes)$/i.test(process.env.AUDIT_SHIP_DEBUG ?? '');
}

/** Prints an error once, plainly; a stack trace only for bugs, and only when asked for. */
export function reportError(error: unknown): void {
  if (error instanceof CommanderError) return; // commander has already printed its message
  const colors = stderrColors();
  if (error instanceof AuditShipError) {
    process.stderr.write(`${colors.red('audit-ship:')} ${error.message} (${error.code})\n`);
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  const detail =
    debugWanted() && error instanceof Error
      ? (error.stack ?? message)
      : `${message} (run with --debug or AUDIT_SHIP_DEBUG=1 for the stack trace)`;
  process.stderr.write(`${colors.red('audit-ship: internal error:')} ${detail}\n`);
}

/**
 * Why invalid lines were not kept: no --dead-letter, a --dead-letter whose write failed (a full
 * disk: the run stopped there), or lines too long for a letter to hold.
 */
function notKeptWhy(lost: number, tooLong: number, deadLetter: string | null): string {
  const unwritten = deadLetter === null ? 'no --dead-letter' : `--dead-letter ${deadLetter} could not be written`;
  if (tooLong === 0) return unwritten;
  const it = (one: string, many: string) => inNumber(tooLong, one, many);
  const long = `over --max-line-bytes, whose dead letter says where ${it('it was', 'each was')} but cannot hold ${it('its', 'their')} text: raise --max-line-bytes to ship or keep ${it('it', 'them')}`;
  return tooLong === lost ? long : `${lost - tooLong} with ${unwritten}; ${tooLong} ${long}`;
}
