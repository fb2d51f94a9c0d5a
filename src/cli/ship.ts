/**
 * `audit-ship [ship]`: input → lines → validate → batch → spool → forward → ack → commit.
 * This module wires the hops together, owns the signals and decides the exit code; each hop lives
 * in its own module.
 */
import { UsageError } from '../errors.js';
import { ChunkBufferPool } from '../forward/buffer-pool.js';
import { Sender } from '../forward/sender.js';
import type { ForwardError } from '../forward/errors.js';
import { DEFAULT_KUBECTL_RECENT_IDS, kubectlSource } from '../input/kubectl.js';
import { openSources, type InputSource } from '../input/sources.js';
import type { MetricsServer } from '../metrics/server.js';
import { Checkpoint } from '../ship/checkpoint.js';
import { DeadLetterFile } from '../ship/dead-letter.js';
import { Forwarder } from '../ship/forwarder.js';
import { emptyCounts } from '../ship/counts.js';
import { before, ShipPipeline } from '../ship/pipeline.js';
import { RateLimiter } from '../ship/rate.js';
import { SpoolClosedError } from '../spool/errors.js';
import { Spool } from '../spool/spool.js';
import { EXIT } from './exit.js';
import { senderOptionsFrom } from './forward-options.js';
import { diagnosticFormatter } from './lint-format.js';
import { TextOutput } from './output.js';
import { Progress } from './progress.js';
import { shipSummary, summaryText } from './ship-summary.js';
import type { ShipOptions } from './ship-options.js';
import { stderrColors } from './tty.js';

export type { ShipOptions } from './ship-options.js';

async function openInputs(files: string[], options: ShipOptions, note: (line: string) => void): Promise<InputSource[]> {
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

export async function ship(files: string[], options: ShipOptions): Promise<void> {
  checkOptions(files, options);
  const senderOptions = senderOptionsFrom(options);
  const checkpoint = options.checkpoint === undefined ? null : Checkpoint.load(options.checkpoint);
  const deadLetter = options.deadLetter === undefined ? null : DeadLetterFile.open(options.deadLetter);
  // Room for a full chunk and its last record; about as many slabs are free at once as the window holds.
  const bodies = new ChunkBufferPool(options.chunkBytes + 64 * 1024, options.window);
  const spool = Spool.open({ dir: options.spoolDir, maxBytes: options.spoolMaxBytes, overflow: options.spoolOverflow, fsync: options.spoolFsync, bodies });
  let metricsServer: MetricsServer | null = null;
  try {
    await run(files, options, senderOptions, spool, bodies, checkpoint, deadLetter, (server) => (metricsServer = server));
  } finally {
    await spool.close();
    deadLetter?.close();
    await (metricsServer as MetricsServer | null)?.close();
  }
}

async function run(
  files: string[],
  options: ShipOptions,
  senderOptions: ReturnType<typeof senderOptionsFrom>,
  spool: Spool,
  bodies: ChunkBufferPool,
  checkpoint: Checkpoint | null,
  deadLetter: DeadLetterFile | null,
  onMetricsServer: (server: MetricsServer) => void,
): Promise<void> {
  const report = diagnosticFormatter('text', stderrColors());
  let progress: Progress | null = null;
  const note = (text: string) => (progress ? progress.message(text) : process.stderr.write(text));
  const sources = await openInputs(files, options, note);
  const sender = new Sender(senderOptions);
  const counts = emptyCounts();
  const pipeline = new ShipPipeline(spool, {
    classify: { mixed: true, strict: options.strict },
    maxLineBytes: options.maxLineBytes,
    chunkLimits: { maxRecords: options.chunkRecords, maxBytes: options.chunkBytes },
    gzipLevel: options.compress === 'gzip' ? options.compressLevel : null,
    bodies,
    flushIntervalMs: options.flushInterval,
    timeSource: options.timeSource,
    since: options.since ?? null,
    until: options.until ?? null,
    rate: options.rate > 0 ? new RateLimiter(options.rate) : null,
    checkpoint,
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
  if (options.metricsPort !== undefined) {
    // prom-client costs about 9 MB of memory: it is loaded only when metrics are served.
    const [{ createShipMetrics }, { startMetricsServer }] = await Promise.all([import('../metrics/metrics.js'), import('../metrics/server.js')]);
    const metrics = createShipMetrics({ counts, spool: spool.stats, senderState: () => sender.state, inFlight: () => sender.inFlightCount });
    sender.on('acked', (_chunk, ms) => metrics.ackLatency.observe(ms / 1000));
    const server = await startMetricsServer(metrics.registry, options.metricsHost, options.metricsPort, () => sender.state === 'connected');
    onMetricsServer(server);
    note(`audit-ship: metrics on ${server.url}/metrics\n`);
  }
  if (spool.stats.recoveredChunks > 0) {
    note(`audit-ship: ${spool.stats.recoveredRecords} records left in the spool by an earlier run are sent first\n`);
  }
  if (spool.stats.damagedRanges > 0) {
    note(`audit-ship: ${spool.stats.damagedRanges} torn or corrupt spool ranges (${spool.stats.damagedBytes} bytes) were set aside in ${options.spoolDir}/damaged\n`);
  }

  let fatal: ForwardError | null = null;
  let failure: unknown = null;
  let signalled = false;
  let shutdownExpired: () => void = () => {};
  const deadline = new Promise<void>((resolve) => (shutdownExpired = resolve));
  const forwarder = new Forwarder(spool, sender, options.window, counts, (chunk) => bodies.recycle(chunk.entries));
  sender.on('fatal', (error) => {
    fatal ??= error;
    pipeline.stop();
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return shutdownExpired(); // a second signal: stop waiting for acks
    signalled = true;
    note(`audit-ship: ${signal}: reading stopped, waiting up to ${options.shutdownTimeout} ms for acks; the rest stays in the spool\n`);
    pipeline.stop();
    setTimeout(shutdownExpired, options.shutdownTimeout).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const started = process.hrtime.bigint();
  // A terminal that reports no width (some pseudo-terminals) makes the spinner clear line after line.
  const terminal = process.stderr.isTTY === true && (process.stderr.columns ?? 0) > 0;
  progress = await Progress.create(counts, spool.stats, sources, options.progress && terminal);
  progress.start();
  const work = (async () => {
    if (options.requireConn) await Promise.race([sender.start(), deadline]);
    if (!signalled) await pipeline.run(sources);
    await spool.drained();
  })();
  await Promise.race([work.catch((error: unknown) => (failure ??= error)), forwarder.finished(), deadline]);
  pipeline.stop();
  forwarder.stop();
  await sender.close(0);
  await spool.close();
  await work.catch((error: unknown) => (failure ??= error));
  progress.stop();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const summary = shipSummary(counts, spool.stats, seconds);
  if (options.summary === 'json') process.stderr.write(`${JSON.stringify(summary)}\n`);
  else if (options.summary === 'text') process.stderr.write(`${summaryText(summary)}\n`);
  if (spool.stats.records > 0) {
    process.stderr.write(`audit-ship: ${spool.stats.records} records were not acked and stay in the spool ${options.spoolDir}; the next run sends them first\n`);
  }
  if (fatal) throw fatal;
  // After a signal or a fatal error, the rejections that follow are our own shutdown.
  if (failure && !signalled && !(failure instanceof SpoolClosedError)) throw failure;
  process.exitCode = spool.stats.records > 0 ? EXIT.unacked : EXIT.ok;
}
