/** Colour decisions, made in one place: colour only on a TTY and never with NO_COLOR set. */
import { Chalk, chalkStderr, type ChalkInstance } from 'chalk';
import chalk from 'chalk';

function noColorRequested(): boolean {
  const v = process.env.NO_COLOR;
  return v !== undefined && v !== '';
}

export function stdoutColors(): ChalkInstance {
  return new Chalk({ level: noColorRequested() ? 0 : chalk.level });
}

export function stderrColors(): ChalkInstance {
  return new Chalk({ level: noColorRequested() ? 0 : chalkStderr.level });
}

/** No colour at all: for reports written to a file. */
export function noColors(): ChalkInstance {
  return new Chalk({ level: 0 });
}
