/** The one place that turns an outcome into an exit code. The README's exit code table mirrors this. */
import { CommanderError } from 'commander';
import { AuditShipError, InputError, OutputError, UsageError } from '../errors.js';
import { stderrColors } from './tty.js';

export const EXIT = {
  /** Success: no errors (lint), every valid record acked (ship). */
  ok: 0,
  /** Lint found errors, or a fatal error stopped the run. */
  failure: 1,
  /** Bad usage, or an input/output that cannot be opened. */
  usage: 2,
  /** Records remain in the spool, not acked (stopped by a signal, or shut down before the acks came); the next run sends them first. */
  unacked: 3,
} as const;

export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (error instanceof UsageError || error instanceof InputError || error instanceof OutputError) return EXIT.usage;
  return EXIT.failure;
}

/** Prints an error once, plainly; a stack trace only for bugs (errors that are not ours). */
export function reportError(error: unknown): void {
  if (error instanceof CommanderError) return; // commander has already printed its message
  const colors = stderrColors();
  if (error instanceof AuditShipError) {
    process.stderr.write(`${colors.red('audit-ship:')} ${error.message} (${error.code})\n`);
  } else {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`${colors.red('audit-ship: internal error:')} ${detail}\n`);
  }
}
