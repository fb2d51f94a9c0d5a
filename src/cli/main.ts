/**
 * The command table. Each command declares its arguments and options (with their defaults, in this
 * one place) and loads its action lazily, so `audit-ship lint` never pays for the network stack.
 * Errors from every command end in the single try/catch of `main`.
 */
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { UsageError } from '../errors.js';
import { version } from '../version.js';
import { EXIT, exitCodeFor, reportError } from './exit.js';
import { guardProcess } from './process-guards.js';
import { LINT_FORMATS, type LintFormat } from './lint-format.js';
import { integer, nonEmpty } from './options.js';
import { forwardOptions } from './forward-options.js';
import { defaultSpoolDir, maxLineBytesOption, shipOptions } from './ship-options.js';
import { hostname } from 'node:os';
import { DEFAULT_SAMPLE_SEED, DEFAULT_SAMPLE_START } from '../sample/generate.js';
import { mistypedCommand, withOptionHint } from './suggest.js';
import { startSeconds } from './time-bound.js';
import { loadColors } from './tty.js';

/** A command's action: its positional arguments, then its options object (typed by each command). */
type Action = (...args: never[]) => Promise<void>;

interface CommandSpec {
  name: string;
  /** Runs when no command is named (`audit-ship --host fluentd` ships). */
  isDefault?: boolean;
  args?: string;
  /** The values the one argument may take, checked by commander. */
  choices?: readonly string[];
  summary: string;
  options: () => Option[];
  action: () => Promise<Action>;
}

const lineOptions = (): Option[] => [
  maxLineBytesOption(),
  new Option('--strict', 'unknown fields are errors (without it they are allowed, for forward compatibility)').default(false),
  new Option('--mixed', 'lines that are not audit records (application logs) are counted and skipped').default(false),
];

/** lint's --format when none is given; a repeated --format replaces it rather than adding to it. */
const DEFAULT_FORMATS: readonly LintFormat[] = ['text'];

/**
 * A repeatable option with a fixed set of values, in the order given. commander hands the parser
 * the default as the first "previous" value; the default is dropped there, not kept as a first value.
 */
function repeatedChoice<T extends string>(choices: readonly T[], defaults: readonly T[]) {
  return (value: string, previous: readonly T[]): readonly T[] => {
    if (!choices.includes(value as T)) throw new InvalidArgumentError(`Allowed choices are ${choices.join(', ')}.`);
    return previous === defaults ? [value as T] : [...previous, value as T];
  };
}

const COMMANDS: CommandSpec[] = [
  {
    name: 'ship',
    isDefault: true,
    args: '[files...]',
    summary:
      'validate audit lines (files, directories, quoted globs, .gz, or stdin) and forward the valid ones to Fluentd, acked (the default command)',
    options: () => [...forwardOptions(), ...shipOptions()],
    action: async () => {
      const { ship } = await import('./ship.js');
      return (files: string[], options) => ship(files, options);
    },
  },
  {
    name: 'spool',
    args: '<status|verify|purge>',
    choices: ['status', 'verify', 'purge'],
    summary: 'inspect the disk spool: status (what waits to be sent), verify (check every checksum), purge (delete it all)',
    options: () => [
      new Option('--spool-dir <dir>', 'the spool to inspect')
        .default(defaultSpoolDir(), 'as for ship')
        .env('AUDIT_SHIP_SPOOL_DIR')
        .argParser(nonEmpty('a directory')),
      new Option('--json', 'one JSON object on stdout instead of text').default(false),
      new Option('--yes', 'purge: delete records that were never delivered (without it, purge deletes only an empty spool)').default(false),
    ],
    action: async () => {
      const { spoolCommand } = await import('./spool.js');
      return (action: 'status' | 'verify' | 'purge', options) => spoolCommand(action, options);
    },
  },
  {
    name: 'lint',
    args: '[inputs...]',
    summary: 'check audit log lines (files, directories, quoted globs, .gz, or stdin) against the audit record schema',
    options: () => [
      ...lineOptions(),
      new Option(
        '--format <format>',
        'report format: text, json (NDJSON), github (annotations), sarif (SARIF 2.1.0), junit (JUnit XML), gitlab (Code Quality); repeatable, each with its --output',
      )
        .choices(LINT_FORMATS)
        .default(DEFAULT_FORMATS, 'text')
        .argParser(repeatedChoice(LINT_FORMATS, DEFAULT_FORMATS)),
      new Option('--max-errors <n>', 'stop after this many errors (0: never stop)').default(0).argParser(integer(0)),
      new Option('--allow-empty', 'no input files, no lines, or no audit record among them, is not a failure').default(false),
      new Option(
        '--output <file>',
        'write the report in the --format given in the same place to this file (-: stdout); stdout then gets text (repeatable)',
      )
        .default([], 'none')
        .argParser((v: string, all: string[]) => [...all, nonEmpty('a file, or - for stdout')(v)]),
      new Option('--max-warnings <n>', 'fail when there are more warnings than this (-1: never)').default(-1).argParser(integer(-1)),
      new Option('--summary <kind>', 'summary on stderr').choices(['text', 'json', 'none']).default('text'),
    ],
    action: async () => {
      const { lint } = await import('./lint.js');
      return (files: string[], options) => lint(files, options);
    },
  },
  {
    name: 'schema',
    summary: 'print the audit record as a JSON Schema (draft 2020-12)',
    options: () => [new Option('--strict', 'forbid unknown fields (additionalProperties: false)').default(false)],
    action: async () => {
      const { schema } = await import('./schema.js');
      return (options) => schema(options);
    },
  },
  {
    name: 'receive',
    summary: 'run a Fluentd-compatible forward receiver that writes each event as a JSON line',
    options: () => [
      new Option('--port <port>', 'port to listen on (0: any free port)').default(24224).argParser(integer(0, 65535)),
      new Option('--bind <address>', 'address to listen on').default('127.0.0.1'),
      new Option('--out <file>', 'append events to this file (default and -: stdout)').argParser(nonEmpty('a file, or - for stdout')),
      new Option('--shared-key <key>', 'require the shared-key handshake')
        .env('AUDIT_SHIP_SHARED_KEY')
        .argParser(nonEmpty('the key shippers must send', 'an empty key proves nothing')),
      new Option('--self-hostname <name>', 'hostname sent in PONG').default(hostname(), 'this host'),
      new Option(
        '--user <name:password>',
        'a user allowed in (repeatable; needs --shared-key); a password on the command line is visible to other users of this host: prefer --users-file',
      )
        .default([], 'none')
        .argParser((v: string, all: string[]) => [...all, v]),
      new Option('--users-file <file>', 'users allowed in, one NAME:PASSWORD a line (# comments); needs --shared-key')
        .env('AUDIT_SHIP_USERS_FILE')
        .argParser(nonEmpty('a file')),
      new Option('--tls-cert <file>', 'serve TLS with this PEM certificate (with --tls-key)').argParser(nonEmpty('a file')),
      new Option('--tls-key <file>', 'PEM private key for --tls-cert').argParser(nonEmpty('a file')),
      new Option('--tls-client-ca <file>', "require client certificates signed by this PEM CA (Fluentd's client_cert_auth)").argParser(
        nonEmpty('a file'),
      ),
    ],
    action: async () => {
      const { receive } = await import('./receive.js');
      return (options) => receive(options);
    },
  },
  {
    name: 'sample',
    summary: 'write realistic sample audit records (JSON lines) to stdout',
    options: () => [
      new Option('--count <n>', 'how many records').default(1000).argParser(integer(0)),
      new Option('--seed <n>', 'the same seed always gives the same records').default(DEFAULT_SAMPLE_SEED).argParser(integer(0)),
      new Option('--start <time>', 'time of the first record: seconds since the epoch, an RFC 3339 time, a date, or 24h ago')
        .default(DEFAULT_SAMPLE_START, '2021-09-22T12:00:00Z')
        .argParser((v: string) => startSeconds(v)),
    ],
    action: async () => {
      const { sample } = await import('./sample.js');
      return (options) => sample(options);
    },
  },
];

/** Options of audit-ship itself, before or after any command. */
export const GLOBAL_OPTIONS = ['--debug'];

/** Each command's long options, from the one table: what docs/ must document (test/docs/docs.test.ts). */
export function commandOptions(): { name: string; options: string[] }[] {
  return COMMANDS.map((c) => ({
    name: c.name,
    options: c
      .options()
      .map((o) => o.long!)
      .filter((o) => o !== '--help'),
  }));
}

/**
 * The default command takes file names, so a mistyped command would be read as one: the first
 * operand, unless it comes after `--`, must not look like a command misspelt.
 */
function refuseMistypedCommand(files: unknown, argv: readonly string[]): void {
  const first = Array.isArray(files) ? (files[0] as string | undefined) : undefined;
  if (first === undefined) return;
  const dashDash = argv.indexOf('--');
  if (dashDash !== -1 && dashDash < argv.indexOf(first)) return;
  const meant = mistypedCommand(
    first,
    COMMANDS.map((c) => c.name),
  );
  if (meant)
    throw new UsageError(
      `unknown command '${first}' (did you mean ${meant}?); to read a file of that name, write ./${first} or put it after --`,
    );
}

/**
 * Commander would take an operand after `--` for a command name (`audit-ship -- lint` would lint);
 * `--` means "files from here on", so a `--` before any command name goes to the default command.
 */
function routeDashDash(argv: string[]): string[] {
  const dashDash = argv.indexOf('--', 2);
  if (dashDash === -1) return argv;
  const names = new Set(COMMANDS.map((c) => c.name));
  if (argv.slice(2, dashDash).some((a) => names.has(a))) return argv;
  return [...argv.slice(0, 2), COMMANDS.find((c) => c.isDefault)!.name, ...argv.slice(2)];
}

function buildProgram(argv: readonly string[]): Command {
  const program = new Command('audit-ship')
    .description('Ships Seldon Enterprise Platform audit logs to Fluentd, validated, spooled and acked.')
    .version(version())
    .option('--debug', 'print the stack trace of an internal error (also AUDIT_SHIP_DEBUG=1)')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  for (const spec of COMMANDS) {
    const command = program.command(spec.name, { isDefault: spec.isDefault ?? false }).description(spec.summary);
    if (spec.args) command.addArgument(spec.choices ? new Argument(spec.args).choices(spec.choices) : new Argument(spec.args));
    const options = spec.options();
    for (const option of options) command.addOption(option);
    const longs = [...options.map((o) => o.long!), ...GLOBAL_OPTIONS];
    command.configureOutput({ outputError: (message, write) => write(withOptionHint(message, longs)) });
    command.exitOverride().action(async (...args: unknown[]) => {
      if (spec.isDefault) refuseMistypedCommand(args[0], argv);
      const run = await spec.action();
      // commander passes positional arguments, then the options object, then the command itself.
      try {
        await (run as (...operands: unknown[]) => Promise<void>)(...args.slice(0, -1));
      } catch (error) {
        throw fromEnvironment(error, command, options);
      }
    });
  }
  return program;
}

/**
 * A usage error about an option whose value came from its environment variable names that
 * variable: `--host [::1: …` sent a user set up by a Deployment's env to look in its args.
 * (commander says so itself for the values its own parsers refuse.)
 */
function fromEnvironment(error: unknown, command: Command, options: readonly Option[]): unknown {
  if (!(error instanceof UsageError)) return error;
  const flag = /^(--[a-z-]+) /.exec(error.message)?.[1];
  const option = options.find((o) => o.long === flag);
  if (!option?.envVar || error.message.includes(option.envVar) || command.getOptionValueSource(option.attributeName()) !== 'env') {
    return error;
  }
  error.message = error.message.replace(flag!, `${flag} (from ${option.envVar})`);
  return error;
}

export async function main(argv: string[]): Promise<void> {
  let settled = false;
  guardProcess();
  // If the event loop empties while a command still awaits something, that is a bug: say so and
  // fail, rather than exit 0 having done nothing.
  process.once('beforeExit', () => {
    if (settled) return;
    reportError(new Error('audit-ship stopped with work unfinished (a promise was never settled)'));
    process.exitCode = EXIT.failure;
  });
  try {
    await loadColors(argv);
    const routed = routeDashDash(argv);
    await buildProgram(routed).parseAsync(routed);
  } catch (error) {
    settled = true;
    reportError(error);
    process.exitCode = exitCodeFor(error);
    return;
  }
  settled = true;
  process.exitCode ??= EXIT.ok;
}
