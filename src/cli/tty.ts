/**
 * Colour decisions, made in one place: chalk's, on a terminal (or where FORCE_COLOR asks), and
 * never with NO_COLOR set. chalk is loaded only where a stream could be coloured: loading it (and
 * the modules it uses to look at the terminal) took about 20 ms of CPU, a tenth of a run's start,
 * and a run from cron, CI or a pod writes to no terminal.
 */
/** The styles the CLI's messages use: chalk's, or none. */
export interface Colors {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
}

const same = (text: string) => text;
const PLAIN: Colors = { bold: same, dim: same, red: same, yellow: same };

let chalk: typeof import('chalk') | null = null;

function noColorRequested(): boolean {
  const v = process.env.NO_COLOR;
  return v !== undefined && v !== '';
}

/**
 * Whether chalk could give either stream a colour: chalk gives none to a stream that is not a
 * terminal unless FORCE_COLOR, a `--color` flag or Azure Pipelines' TF_BUILD says otherwise.
 */
function colourPossible(argv: readonly string[]): boolean {
  if (noColorRequested()) return false;
  if (process.stdout.isTTY || process.stderr.isTTY) return true;
  const env = process.env;
  return 'FORCE_COLOR' in env || 'TF_BUILD' in env || argv.some((arg) => arg.startsWith('--color'));
}

/**
 * Loads chalk where a stream could be coloured, never with NO_COLOR; called once, before a command
 * runs. Until it is loaded every style is plain.
 */
export async function loadColors(argv: readonly string[] = process.argv): Promise<void> {
  if (colourPossible(argv)) chalk ??= await import('chalk');
}

export function stdoutColors(): Colors {
  return chalk ? new chalk.Chalk({ level: chalk.default.level }) : PLAIN;
}

export function stderrColors(): Colors {
  return chalk ? new chalk.Chalk({ level: chalk.chalkStderr.level }) : PLAIN;
}

/** No colour at all: for reports written to a file. */
export function noColors(): Colors {
  return PLAIN;
}

/**
 * Says so when the input is stdin and stdin is a terminal: the run then waits for lines typed,
 * which looks like a hang to someone who meant to name a file or pipe one in. Asked of the file
 * descriptor, not of `process.stdin`: that getter opens a stream on fd 0, beside the reader that
 * src/input/stdin.ts opens on it; and node:tty is loaded only where stderr is a terminal.
 */
export async function noteTerminalStdin(inputs: readonly string[], who: string, write: (text: string) => void): Promise<void> {
  if (process.stderr.isTTY !== true) return;
  if (inputs.length > 0 && !inputs.includes('-')) return;
  const { isatty } = await import('node:tty');
  if (!isatty(0)) return;
  write(`${who}: reading audit lines from this terminal, one JSON record a line; end with Ctrl-D (or name files, or pipe them in)\n`);
}
