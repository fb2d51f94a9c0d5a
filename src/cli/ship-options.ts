/** The options of `audit-ship [ship]` beyond where to forward, each with its default, in one place. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_KUBECTL_MAX_STREAMS, DEFAULT_KUBECTL_SILENCE_MS } from '../input/kube/defaults.js';
import { DEFAULT_MAX_LINE_BYTES } from '../input/lines.js';
import type { TimeBound } from '../schema/timestamp.js';
import type { FsyncPolicy, OverflowPolicy } from '../spool/spool.js';
import type { ForwardCliOptions } from './forward-options.js';
import { byteSize, duration, integer, invalidAllowance, nonEmpty, type InvalidAllowance } from './options.js';
import { timeBound } from './time-bound.js';

/** `$XDG_STATE_HOME/audit-ship/spool`, else `~/.local/state/audit-ship/spool`: state that must survive restarts. */
export function defaultSpoolDir(): string {
  const state = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'audit-ship', 'spool');
}

export interface ShipOptions extends ForwardCliOptions {
  strict: boolean;
  maxLineBytes: number;
  flushInterval: number;
  summary: 'text' | 'json' | 'none';
  quiet: boolean;
  shutdownTimeout: number;
  spoolDir: string;
  spoolMaxBytes: number;
  spoolOverflow: OverflowPolicy;
  spoolFsync: FsyncPolicy;
  deadLetter?: string;
  maxInvalid: InvalidAllowance;
  checkpoint?: string;
  kubectl?: string;
  kubectlCommand: string;
  kubectlMaxStreams: number;
  kubectlSilence: number;
  kubernetesMetadata: boolean;
  timeSource: 'record' | 'now';
  since?: TimeBound;
  until?: TimeBound;
  rate: number;
  /** Files read at once; undefined: defaultWorkers() (src/ship/parallel.ts). */
  workers?: number;
  requireConn: boolean;
  stdout: boolean;
  metricsPort?: number;
  metricsHost: string;
  watchdog: number;
  progress: boolean;
}

/** A line is held in memory while it is read: a limit, not a buffer size. */
const MAX_LINE_BYTES = 256 * 1024 ** 2;

/** Shared by ship and lint, so that both take the same longest line by default. */
export function maxLineBytesOption(): Option {
  return new Option('--max-line-bytes <size>', 'longest line accepted; a longer one is reported, not buffered')
    .default(DEFAULT_MAX_LINE_BYTES, '4m')
    .argParser(byteSize(1, MAX_LINE_BYTES));
}

export function shipOptions(): Option[] {
  return [
    new Option('--spool-dir <dir>', 'disk spool: each chunk is written here before it is sent and removed when acked')
      .default(defaultSpoolDir(), '$XDG_STATE_HOME/audit-ship/spool or ~/.local/state/audit-ship/spool')
      .env('AUDIT_SHIP_SPOOL_DIR')
      .argParser(nonEmpty('a directory')),
    new Option('--spool-max-bytes <size>', 'disk the spool may use').default(1024 ** 3, '1g').argParser(byteSize(64 * 1024)),
    new Option('--spool-overflow <policy>', 'when the spool is full: block (input waits) or drop-oldest (counted)')
      .choices(['block', 'drop-oldest'])
      .default('block'),
    new Option('--spool-fsync <policy>', 'fsync each chunk before it is sent (always), once a second (interval), or never')
      .choices(['always', 'interval', 'never'])
      .default('always'),
    new Option('--dead-letter <file>', 'append each invalid line, with its diagnostics, as a JSON line').argParser(deadLetterFile),
    new Option(
      '--max-invalid <n|p%>',
      'invalid lines that may go unkept (no --dead-letter) without a non-zero exit: a count, or a percentage of the records read',
    )
      .default({ count: 0 }, '0')
      .argParser(invalidAllowance),
    new Option('--checkpoint <file>', 'record how far each input file is spooled; a re-run resumes from there (files only)')
      .conflicts('kubectl')
      .argParser(checkpointFile),
    new Option(
      '--kubectl <target>',
      'follow every pod of a workload through kubectl: "deploy/NAME", pod/NAME or "-l SELECTOR", with -n, --context, -c or --all-containers',
    ),
    new Option('--kubectl-command <path>', 'the kubectl to run').default('kubectl').env('KUBECTL'),
    new Option('--kubectl-max-streams <n>', 'pod containers followed at once (one kubectl each); more wait for a free one')
      .default(DEFAULT_KUBECTL_MAX_STREAMS)
      .argParser(integer(1, 1000)),
    new Option(
      '--kubectl-silence <duration>',
      'a pod container followed that gives nothing new this long is read again from its position (the wait doubles while it stays quiet); 0: never',
    )
      .default(DEFAULT_KUBECTL_SILENCE_MS, '30s')
      .argParser(duration(0)),
    new Option('--kubernetes-metadata', 'add kubernetes.{namespace,pod,container} to each record read with --kubectl').default(false),
    new Option('--time-source <source>', "event time: the record's Timestamp, or the time it is read")
      .choices(['record', 'now'])
      .default('record'),
    new Option('--since <time>', 'ship only records at or after this Timestamp (RFC 3339, a date, or 24h ago)').argParser((v: string) =>
      timeBound(v),
    ),
    new Option('--until <time>', 'ship only records before this Timestamp').argParser((v: string) => timeBound(v)),
    new Option('--rate <n>', 'records per second, at most (0: no limit)').default(0).argParser(integer(0)),
    new Option(
      '--workers <n>',
      'input files read at once, each in a thread of its own (default: one fewer than the cores, at most 4)',
    ).argParser(integer(1, 64)),
    new Option('--require-conn', 'read no input until Fluentd has accepted a connection and handshake').default(false),
    new Option('--stdout', 'also write each valid record to stdout as a JSON line').default(false),
    new Option('--metrics-port <port>', 'serve /metrics, /healthz and /readyz on this port (0: any free port)').argParser(
      integer(0, 65535),
    ),
    new Option('--metrics-host <address>', 'address for the metrics endpoint (0.0.0.0 inside a pod)').default('127.0.0.1'),
    new Option('--watchdog <duration>', '/healthz fails when chunks wait and the sender has not moved for this long')
      .default(300_000, '5m')
      .argParser(duration(1000)),
    new Option('--no-progress', 'no live status line (it is shown only when stderr is a terminal)'),
    maxLineBytesOption(),
    new Option('--strict', 'records with unknown fields are invalid').default(false),
    new Option('--flush-interval <duration>', 'send a partly filled chunk after this long (live tails)')
      .default(1000, '1s')
      .argParser(duration(1)),
    new Option('--summary <kind>', 'summary on stderr at the end').choices(['text', 'json', 'none']).default('text'),
    new Option(
      '--quiet',
      'stderr only for what needs attention (warnings, errors, invalid lines, an exit other than 0): no routine notes, no text summary, no status line (for cron)',
    ).default(false),
    new Option('--shutdown-timeout <duration>', 'on SIGINT/SIGTERM, wait this long for acks; the rest stays in the spool')
      .default(10_000, '10s')
      .argParser(duration(0)),
  ];
}

/**
 * A dead letter must be on disk before the checkpoint moves past its line, and a pipe cannot be
 * synced: `-` would have made a file named `-`, and stdout would lose what a reader dropped.
 */
function deadLetterFile(path: string): string {
  if (path === '-' || path === '')
    throw new InvalidArgumentError('a file is needed: invalid lines are kept on disk (lint --format json lists them on stdout)');
  return path;
}

/** Positions are saved as the run goes and read back by the next run: `-` would make a file named `-`. */
function checkpointFile(path: string): string {
  if (path === '-' || path === '')
    throw new InvalidArgumentError('a file is needed: positions are saved in it and read back by the next run');
  return path;
}
