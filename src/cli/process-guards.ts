/**
 * What the process does, whatever the command, with what a command does not handle itself: its
 * stderr failing, SIGUSR1, and a stop signal while no run is there to take it.
 */
import { constants } from 'node:os';

/** The signals that stop a run cleanly: Ctrl-C, `kill`, and a closing terminal or ssh session. */
export const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function guardProcess(): void {
  // stderr carries notes and the summary, never data. A reader of it that went away (`2>&1 | head`,
  // a pager quit, a terminal closed: EPIPE, EIO) or a full disk under `2> log` made the write's
  // error uncaught, and the run died mid-flight with exit 1 whatever it had done. What cannot be
  // said is dropped; the exit code still tells the outcome.
  process.stderr.on('error', () => {});
  // Node opens a debugger on 127.0.0.1:9229 at SIGUSR1 unless the signal has a listener: anyone who
  // may signal the process (a sidecar, a script's stray `kill -USR1`) could then run code in it.
  // `ship` says the run so far at it (src/cli/ship.ts); every other command ignores it.
  process.on('SIGUSR1', () => {});
  // As PID 1 (the image's entrypoint), a signal with no handler is not fatal but dropped: a SIGTERM
  // while a run was starting (a large spool recovered, many files checked) or ending went unheard,
  // and the pod waited out its grace period for a SIGKILL. Ended here as anywhere else.
  if (process.pid === 1) for (const signal of STOP_SIGNALS) process.on(signal, endAsByDefault);
}

/** A stop signal that nothing else handles ends the process, as it would if it were not PID 1. */
function endAsByDefault(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  process.exit(128 + constants.signals[signal]);
}
