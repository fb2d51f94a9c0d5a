/**
 * `audit-ship [ship]`: input → lines → validate → batch → spool → forward → ack → commit.
 * This module checks the options, opens everything before the first byte of input is read, wires
 * the hops together, owns the signals and decides the exit code (src/cli/exit.ts); each hop lives
 * in its own module.
 */
import { OutputError, UsageError } from '../errors.js';
import { ChunkBufferPool } from '../forward/buffer-pool.js';
import { RetryTimeoutError, type ForwardError } from '../forward/errors.js';
import { Sender } from '../forward/sender.js';
import { DEFAULT_KUBECTL_RECENT_IDS, kubectlSource } from '../input/kubectl.js';
import { openSources, type InputSource } from '../input/sources.js';
import type { MetricsServer } from '../metrics/server.js';
import { Checkpoint, CheckpointError } from '../ship/checkpoint.js';
import { emptyCounts, type ShipCounts } from '../ship/counts.js';
import { DeadLetterFile } from '../ship/dead-letter.js';
import { Forwarder } from '../ship/forwarder.js';
import { before, ShipPipeline, type ReadFailure } from '../ship/pipeline.js';
import { RateLimiter } from '../ship/rate.js';
import { SpoolClosedError, SpoolWriteError, type SpoolError } from '../spool/errors.js';
import { Spool } from '../spool/spool.js';
import { EXIT, shipOutcome, type Outcome } from './exit.js';
import { DEFAULT_COMPRESS_LEVEL, DEFAULT_RETRY_TIMEOUT_MS, senderOptionsFrom } from './forward-options.js';
import { diagnosticFormatter } from './lint-format.js';
import { invalidAllowed } from './options.js';
import { TextOutput } from './output.js';
import { Progress } from './progress.js';
import { shipSummary, summaryText } from './ship-summary.js';
import type { ShipOptions } from './ship-options.js';
import { stderrColors } from './tty.js';

export type { ShipOptions } from './ship-options.js';

/** The signals that stop a run cleanly: Ctrl-C, `kill`, and a closing terminal or ssh session. */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

type Note = (text: string) => void;

async function openInputs(files: string[], options: ShipOptions, note: Note): Promise<InputSource[]> {
  if (options.kubectl === undefined) return openSources(files);
  if (files.length > 0) throw new UsageError('--kubectl reads from kubectl; give no input files with it');
  return [kubectlSource({
    args: options.kubectl,
    command: options.kubectlCommand,
    backoff: { initialMs: 500, maxMs: 30_000 },
    recentIds: DEFAULT_KUBECTL_RECENT_IDS,
    onMessage: (line) => note(`${line}\n`),
  })];
}

/** Writes valid records to stdout (--stdout), a batch of lines at a time, waiting for 'drain'. */
function stdoutWriter(counts: { recordsWritten: number }) {
  // Never flushed by size: the pipeline flushes at the end of every batch and awaits it there.
  const out = new TextOutput(process.stdout, Infinity);
  return {
    write(json: string) {
      void out.write(`${json}\n`);
      counts.recordsWritten++;
    },
    flush: () => out.flush(),
  };
}

function checkOptions(files: string[], options: ShipOptions): void {
  if (options.since && options.until && !before(options.since.seconds, options.since.nanoseconds, options.until)) {
    throw new UsageError('--since must be before --until');
  }
  if (options.checkpoint !== undefined && (options.kubectl !== undefined || files.length === 0 || files.includes('-'))) {
    throw new UsageError('--checkpoint applies to input files; stdin and kubectl cannot be re-read from a position');
  }
}

/** Everything a run holds open; closed in one place whatever happens. */
interface Run {
  options: ShipOptions;
  sources: InputSource[];
  spool: Spool;
  bodies: ChunkBufferPool;
  checkpoint: Checkpoint | null;
  deadLetter: DeadLetterFile | null;
  counts: ShipCounts;
  note: Note;
  metricsServer: MetricsServer | null;
}

export async function ship(files: string[], options: ShipOptions): Promise<void> {
  // Every check that can fail comes before the first byte of input is read.
  checkOptions(files, options);
  const senderOptions = senderOptionsFrom(options);
  let progress: Progress | null = null;
  const note: Note = (text) => (progress ? progress.message(text) : process.stderr.write(text));
  if (options.tlsInsecure) {
    note('audit-ship: warning: --tls-insecure: the server\'s certificate is not checked, so anyone on the path can read and alter the records; use --tls-ca instead\n');
  }
  const sources = await openInputs(files, options, note);
  const checkpoint = options.checkpoint === undefined ? null : await Checkpoint.load(options.checkpoint);
  const deadLetter = options.deadLetter === undefined ? null : DeadLetterFile.open(options.deadLetter);
  // Room for a full chunk and its last record; about as many slabs are free at once as the window holds.
  const bodies = new ChunkBufferPool(options.chunkBytes + 64 * 1024, options.window);
  let spool: Spool;
  try {
    spool = await Spool.open({ dir: options.spoolDir, maxBytes: options.spoolMaxBytes, overflow: options.spoolOverflow, fsync: options.spoolFsync, bodies });
  } catch (error) {
    checkpoint?.close();
    deadLetter?.close();
    throw error;
  }
  const run: Run = { options, sources, spool, bodies, checkpoint, deadLetter, counts: emptyCounts(), note, metricsServer: null };
  try {
    await execute(run, new Sender(senderOptions), (p) => (progress = p));
  } finally {
    await spool.close();
    checkpoint?.close();
    deadLetter?.close();
    await run.metricsServer?.close();
  }
}

function createPipeline(run: Run): ShipPipeline {
  const { options, counts, deadLetter, note } = run;
  const report = diagnosticFormatter('text', stderrColors());
  return new ShipPipeline(run.spool, {
    classify: { mixed: true, strict: options.strict },
    maxLineBytes: options.maxLineBytes,
    chunkLimits: { maxRecords: options.chunkRecords, maxBytes: options.chunkBytes },
    gzipLevel: options.compress === 'gzip' ? (options.compressLevel ?? DEFAULT_COMPRESS_LEVEL) : null,
    bodies: run.bodies,
    flushIntervalMs: options.flushInterval,
    timeSource: options.timeSource,
    since: options.since ?? null,
    until: options.until ?? null,
    rate: options.rate > 0 ? new RateLimiter(options.rate) : null,
    checkpoint: run.checkpoint,
    onInvalid: (file, line, diagnostics) => {
      if (deadLetter) {
        deadLetter.write(file, line, diagnostics);
        counts.deadLettered++;
      }
      note(diagnostics.map((d) => report({ file, line: line.number, diagnostic: d })).join(''));
    },
    writer: options.stdout ? stdoutWriter(counts) : null,
    onNote: (message) => note(`audit-ship: ${message}\n`),
  }, counts);
}

function watchSender(run: Run, sender: Sender): void {
  const { counts, note } = run;
  sender.on('resend', (chunk) => {
    counts.resends++;
    counts.recordsResent += chunk.count;
  });
  sender.on('connection-lost', (error, resending) => {
    note(`audit-ship: ${error.message}; reconnecting${resending > 0 ? `, ${resending} chunks to resend` : ''}\n`);
  });
  sender.on('connect-error', (error) => {
    counts.connectRetries++;
    note(`audit-ship: ${error.message}; retrying\n`);
  });
}

async function serveMetrics(run: Run, sender: Sender): Promise<void> {
  const { options } = run;
  if (options.metricsPort === undefined) return;
  // prom-client costs about 9 MB of memory: it is loaded only when metrics are served.
  const [{ createShipMetrics }, { startMetricsServer }] = await Promise.all([import('../metrics/metrics.js'), import('../metrics/server.js')]);
  const metrics = createShipMetrics({ counts: run.counts, spool: run.spool.stats, senderState: () => sender.state, inFlight: () => sender.inFlightCount });
  sender.on('acked', (_chunk, ms) => metrics.ackLatency.observe(ms / 1000));
  run.metricsServer = await startMetricsServer(metrics.registry, options.metricsHost, options.metricsPort, () => sender.state === 'connected');
  run.note(`audit-ship: metrics on ${run.metricsServer.url}/metrics\n`);
}

/**
 * A full disk under the spool: the write is retried (acks free room) and the user is told; after
 * --retry-timeout (by default 2 minutes for files, never for a live tail) the run gives up on it.
 */
function watchSpace(run: Run, finite: boolean, giveUp: (error: SpoolWriteError) => void): void {
  const { options, note } = run;
  const limit = options.retryTimeout ?? (finite ? DEFAULT_RETRY_TIMEOUT_MS : 0);
  let timer: NodeJS.Timeout | null = null;
  run.spool.onSpaceChange((error) => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (!error) return note(`audit-ship: the spool has room again; reading goes on\n`);
    const until = limit > 0 ? `giving up after ${limit} ms (--retry-timeout)` : 'for as long as it takes (--retry-timeout 0)';
    note(`audit-ship: ${error.message}; reading waits, and the write is retried as acks free room, ${until}\n`);
    if (limit > 0) timer = setTimeout(() => giveUp(error), limit).unref();
  });
}

function noteSpoolAtStart(run: Run): void {
  const { stats } = run.spool;
  if (stats.recoveredChunks > 0) run.note(`audit-ship: ${stats.recoveredRecords} records left in the spool by an earlier run are sent first\n`);
  if (stats.damagedRanges > 0) {
    run.note(`audit-ship: ${stats.damagedRanges} torn or corrupt spool ranges (${stats.damagedBytes} bytes) were set aside in ${run.options.spoolDir}/damaged\n`);
  }
}

/** How the run stopped before its inputs ended, if it did. */
interface Stop {
  signal: NodeJS.Signals | null;
  gaveUp: RetryTimeoutError | null;
  readFailure: ReadFailure | null;
  /** A spool, checkpoint or dead-letter write that failed (a full disk): reading stopped there. */
  writeFailure: SpoolWriteError | CheckpointError | OutputError | null;
}

/** Failures of a write while shipping: they stop the reading, and the exit says what was not kept. */
function isWriteFailure(error: unknown): error is SpoolWriteError | CheckpointError | OutputError {
  return error instanceof SpoolWriteError || error instanceof CheckpointError || error instanceof OutputError;
}

async function execute(run: Run, sender: Sender, onProgress: (p: Progress) => void): Promise<void> {
  const { options, spool, sources, note } = run;
  watchSender(run, sender);
  await serveMetrics(run, sender);
  noteSpoolAtStart(run);
  const pipeline = createPipeline(run);
  // --retry-timeout by default: 2 minutes once a finite input has ended (files end from the start), never for a live tail.
  const autoRetry = options.retryTimeout === undefined && !sources.some((s) => s.live);
  if (autoRetry && sources.every((s) => s.size !== null)) sender.setRetryTimeout(DEFAULT_RETRY_TIMEOUT_MS);

  const stop: Stop = { signal: null, gaveUp: null, readFailure: null, writeFailure: null };
  let fatal: ForwardError | SpoolError | null = null;
  let failure: unknown = null;
  let shutdownExpired: () => void = () => {};
  const deadline = new Promise<void>((resolve) => (shutdownExpired = resolve));
  const forwarder = new Forwarder(spool, sender, options.window, run.counts, (chunk) => run.bodies.recycle(chunk.entries));
  sender.on('fatal', (error) => {
    if (error instanceof RetryTimeoutError) stop.gaveUp ??= error;
    else fatal ??= error;
    pipeline.stop();
  });
  watchSpace(run, autoRetry && sources.every((s) => s.size !== null), (error) => {
    stop.writeFailure ??= error;
    pipeline.stop();
    spool.finish();
  });
  // Another shipper judged this one dead and took the spool: stop at once, so that two never share it.
  spool.onLockLost((error) => {
    fatal ??= error;
    pipeline.stop();
    shutdownExpired();
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal) return shutdownExpired(); // a second signal: stop waiting for acks
    stop.signal = signal;
    note(`audit-ship: ${signal}: reading stopped, waiting up to ${options.shutdownTimeout} ms for acks; the rest stays in the spool\n`);
    pipeline.stop();
    setTimeout(shutdownExpired, options.shutdownTimeout).unref();
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  const started = process.hrtime.bigint();
  // A terminal that reports no width (some pseudo-terminals) makes the spinner clear line after line.
  const terminal = process.stderr.isTTY === true && (process.stderr.columns ?? 0) > 0;
  const progress = await Progress.create(run.counts, spool.stats, sources, options.progress && terminal);
  onProgress(progress);
  progress.start();
  const reading = (async () => {
    if (options.requireConn) await Promise.race([sender.start(), deadline]);
    if (!stop.signal) stop.readFailure = await pipeline.run(sources);
    if (autoRetry) sender.setRetryTimeout(DEFAULT_RETRY_TIMEOUT_MS);
  })();
  const work = reading.then(() => spool.drained());
  await Promise.race([work.catch((error: unknown) => (failure ??= error)), forwarder.finished(), deadline]);
  // Every record already taken from the input is written to the spool before it closes.
  pipeline.stop();
  spool.finish();
  forwarder.stop();
  await sender.close(0);
  await reading.catch((error: unknown) => (failure ??= error));
  await spool.close();
  await work.catch((error: unknown) => (failure ??= error));
  progress.stop();
  for (const s of STOP_SIGNALS) process.off(s, onSignal);

  if (isWriteFailure(failure)) stop.writeFailure = failure;
  if (stop.gaveUp) note(`audit-ship: gave up: ${stop.gaveUp.message}\n`);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // After a signal or giving up, the rejections that follow are our own shutdown.
  const error = fatal ?? (failure && !stop.signal && !stop.gaveUp && !stop.writeFailure && !(failure instanceof SpoolClosedError) ? failure : null);
  const outcome = decideOutcome(run, stop);
  report(run, outcome, error, seconds);
  if (error) throw error;
  process.exitCode = outcome.code;
}

/**
 * The summary and the outcome in words. After a fatal error (reported last, by main) the words
 * still say what stays in the spool; with --summary json the JSON stays the last line, for scripts.
 */
function report(run: Run, outcome: Outcome, error: unknown, seconds: number): void {
  const { options } = run;
  const summary = { ...shipSummary(run.counts, run.spool.stats, seconds), exitCode: error ? EXIT.failure : outcome.code, outcome: outcome.words };
  const ok = outcome.code === EXIT.ok;
  // "complete" is not said after a fatal error, and not at all with --summary none.
  const said = error ? !ok : options.summary !== 'none' || !ok;
  const prefix = error || ok ? '' : `exit ${outcome.code}: `;
  const words = said ? outcome.words.map((w) => `audit-ship: ${prefix}${w}\n`).join('') : '';
  if (options.summary === 'json') process.stderr.write(`${words}${JSON.stringify(summary)}\n`);
  else process.stderr.write(`${options.summary === 'text' ? `${summaryText(summary)}\n` : ''}${words}`);
}

/** Why an input stopped, without its name (the outcome names it): what failed, and what was read before. */
function describeReadFailure(f: ReadFailure): string {
  return f.linesRead > 0 ? `${f.error.reason}; its first ${f.linesRead} lines were read and are accounted for` : f.error.reason;
}

function decideOutcome(run: Run, stop: Stop): Outcome {
  const { options, sources, counts, spool } = run;
  const why = stop.writeFailure ? `stopped: ${stop.writeFailure.message}` : stop.signal ? `stopped by ${stop.signal}` : stop.gaveUp ? 'stopped: nothing could be delivered (--retry-timeout) while the spool was full' : 'not reached';
  const unreadSources = sources.filter((s) => !s.exhausted && !s.live);
  const unread = unreadSources.map((s) => ({ name: s.name, why: stop.readFailure?.source === s ? describeReadFailure(stop.readFailure) : why }));
  // Files can be read again from their start; stdin and FIFOs cannot.
  const hasFiles = unreadSources.some((s) => s.path !== null);
  const resumeHint = options.checkpoint !== undefined
    ? `run the same command again to resume from the checkpoint ${options.checkpoint}`
    : hasFiles ? 'no --checkpoint was given, so a re-run reads those inputs from their start (with --checkpoint FILE it resumes)'
      : `the rest of ${unreadSources.map((s) => (s.name === '<stdin>' ? 'stdin' : s.name)).join(', ')} was not read`;
  return shipOutcome({
    unread: unread.length > 3 ? [...unread.slice(0, 3), { name: `${unread.length - 3} more`, why }] : unread,
    resumeHint,
    leftInSpool: spool.stats.records,
    spoolDir: options.spoolDir,
    notSpooled: counts.recordsNotSpooled,
    notSpooledWhy: stop.writeFailure?.message ?? 'the run stopped first',
    dropped: spool.stats.droppedRecords,
    invalid: counts.invalid,
    deadLettered: counts.deadLettered,
    invalidAllowed: invalidAllowed(options.maxInvalid, counts.valid + counts.invalid),
  });
}
