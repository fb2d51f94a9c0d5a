/**
 * One shipping run, from the inputs to the last ack: input → lines → verdict → batch → spool →
 * forward → ack → commit. A ShipRun opens everything a run holds before the first byte of input is
 * read, owns it while it runs, and closes all of it in one idempotent close(). The CLI keeps what
 * a CLI does: options, signals, the summary and the exit code (src/cli/ship.ts).
 */
import type { ShipOptions } from '../cli/ship-options.js';
import { OutputError } from '../errors.js';
import { RetryTimeoutError, type ForwardError } from '../forward/errors.js';
import { Sender, type SenderOptions } from '../forward/sender.js';
import type { InputSource } from '../input/sources.js';
import type { MetricsServer } from '../metrics/server.js';
import type { TlsExpiries } from '../metrics/metrics.js';
import { SpoolClosedError, SpoolWriteError, type SpoolError } from '../spool/errors.js';
import type { Spool } from '../spool/spool.js';
import { CheckpointError, type Checkpoint } from './checkpoint.js';
import { forgetGoneFiles } from './checkpoint-gone.js';
import { emptyCounts, type ShipCounts } from './counts.js';
import type { DeadLetterFile } from './dead-letter.js';
import { Forwarder, spooledBodies } from './forwarder.js';
import { rememberSpooled } from './inputs.js';
import type { ParallelPipeline } from './parallel.js';
import { ShipPipeline, type ReadFailure } from './pipeline.js';
import { pipelineOptions as runPipelineOptions, type PipelineHooks } from './pipeline-options.js';
import { collectOldGeneration } from './old-generation.js';
import { readersNote } from './readers.js';
import { openRunParts, type RunParts } from './run-parts.js';
import {
  DEFAULT_RETRY_TIMEOUT_MS,
  filesOnly,
  tellDeadLetterRemade,
  tellLink,
  tellSpoolAtStart,
  tellSpoolDeleted,
  watchSpace,
  type Note,
} from './run-watch.js';
import { span } from '../span.js';

export type { Note } from './run-watch.js';

/** How the run stopped before its inputs ended, if it did. */
export interface Stop {
  signal: NodeJS.Signals | null;
  gaveUp: RetryTimeoutError | null;
  /** Inputs that could not be read to their end (the others were read). */
  readFailures: ReadFailure[];
  /** A spool, checkpoint or dead-letter write that failed (a full disk): reading stopped there. */
  writeFailure: SpoolWriteError | CheckpointError | OutputError | null;
}

/** What the CLI needs besides the options: how to tell the user, and the pipeline's CLI-made parts. */
export interface RunHooks {
  /** What needs attention: warnings, retries, stops. */
  note: Note;
  /** Routine notes (files resumed or skipped, the metrics address): dropped with --quiet. */
  info: Note;
  sender: SenderOptions;
  pipeline: PipelineHooks;
  /** When the certificates of --tls-ca and --tls-cert expire, for the metrics; none without them. */
  tlsExpiries?: TlsExpiries | undefined;
}

/** Failures of a write while shipping: they stop the reading, and the exit says what was not kept. */
function isWriteFailure(error: unknown): error is SpoolWriteError | CheckpointError | OutputError {
  return error instanceof SpoolWriteError || error instanceof CheckpointError || error instanceof OutputError;
}

export class ShipRun {
  readonly counts: ShipCounts = emptyCounts();
  readonly stop: Stop = { signal: null, gaveUp: null, readFailures: [], writeFailure: null };
  /**
   * Why no server could be reached, while none ever was (the last connect error): a run that then
   * had nothing to send says so at its end, after the "retrying" notes.
   */
  unreached: string | null = null;

  /** Why each server that refused this client at its last try did; the run went on without them. */
  get refusedServers(): string[] {
    return this.sender.servers().flatMap((l) => (l.refused ? [l.refused.message] : []));
  }
  private readonly sender: Sender;
  private readonly pipeline: ShipPipeline | ParallelPipeline;
  private readonly forwarder: Forwarder;
  private metricsServer: MetricsServer | null = null;
  private stopHealth: () => void = () => {};
  /** Stops the full collections made while the run reads (src/ship/old-generation.ts). */
  private stopCollecting: () => void = () => {};
  /** Says the fills of the spool's disk that went unsaid (src/ship/run-watch.ts). */
  private sayFills: () => void = () => {};
  /** A fatal error: authentication, TLS, the spool taken over. */
  private fatal: ForwardError | SpoolError | null = null;
  private failure: unknown = null;
  private expire: () => void = () => {};
  private readonly deadline = new Promise<void>((resolve) => (this.expire = resolve));
  /** Resolved by the first stop signal. */
  private stopped: () => void = () => {};
  private readonly stopping = new Promise<void>((resolve) => (this.stopped = resolve));
  private closing: Promise<void> | null = null;
  /** When run() began reading (process.hrtime), for elapsedSeconds. */
  private started: bigint | null = null;

  readonly sources: InputSource[];
  readonly spool: Spool;
  /** Threads reading the inputs at once (src/ship/readers.ts). */
  readonly readers: number;
  private readonly checkpoint: Checkpoint | null;
  private readonly deadLetter: DeadLetterFile | null;
  private readonly fullDiskLimitMs: number;

  private constructor(
    readonly options: ShipOptions,
    parts: RunParts,
    private readonly hooks: RunHooks,
  ) {
    const { sources, spool, bodies, checkpoint, deadLetter, readers, parallel, fullDiskLimitMs } = parts;
    this.sources = sources;
    this.spool = spool;
    this.readers = readers;
    this.checkpoint = checkpoint;
    this.deadLetter = deadLetter;
    this.fullDiskLimitMs = fullDiskLimitMs;
    this.sender = new Sender({ ...hooks.sender, bodies: spooledBodies(spool, bodies) });
    const pipelineOptions = runPipelineOptions(options, hooks.pipeline, {
      counts: this.counts,
      bodies,
      checkpoint,
      deadLetter,
      note: hooks.info,
    });
    this.pipeline = parallel
      ? new parallel(spool, pipelineOptions, this.counts, readers)
      : new ShipPipeline(spool, pipelineOptions, this.counts);
    this.forwarder = new Forwarder(spool, this.sender, this.counts, (chunk) => bodies.recycle(chunk.entries));
  }

  /** Opens the inputs, the checkpoint, the dead-letter file and the spool: every check that can fail before input is read. */
  static async open(files: string[], options: ShipOptions, hooks: RunHooks): Promise<ShipRun> {
    return new ShipRun(options, await openRunParts(files, options, hooks.note), hooks);
  }

  /** Seconds since run() began reading (0 before): what the summary's rate is taken over. */
  get elapsedSeconds(): number {
    return this.started === null ? 0 : Number(process.hrtime.bigint() - this.started) / 1e9;
  }

  /** The fatal error that ended the run, if one did (after run()). */
  get error(): unknown {
    const { stop, failure } = this;
    // After a signal, giving up or a failed write, the rejections that follow are our own shutdown.
    return (
      this.fatal ??
      (failure && !stop.signal && !stop.gaveUp && !stop.writeFailure && !(failure instanceof SpoolClosedError) ? failure : null)
    );
  }

  /**
   * Stops reading, for a signal: what was read is spooled, and acks are awaited for
   * --shutdown-timeout. A second call stops waiting at once.
   */
  stopFor(signal: NodeJS.Signals): void {
    // A second signal (Ctrl-C again) ends the wait for acks: what is not acked stays in the spool.
    if (this.stop.signal) {
      this.hooks.note(`audit-ship: ${signal} again: not waiting for acks; what is not acked stays in the spool\n`);
      return this.expire();
    }
    this.stop.signal = signal;
    // A stop after the last line was read stops no reading: what it waits for is the last acks.
    const allRead = this.sources.length > 0 && this.sources.every((source) => source.exhausted);
    const wait = span(this.options.shutdownTimeout);
    this.hooks.note(
      allRead
        ? `audit-ship: ${signal}: every input was read already; waiting up to ${wait} for its acks (${signal} again: stop now); what is not acked then stays in the spool\n`
        : `audit-ship: ${signal}: reading stopped, waiting up to ${wait} for acks (${signal} again: stop now); the rest stays in the spool\n`,
    );
    this.pipeline.stop();
    this.stopped();
    setTimeout(this.expire, this.options.shutdownTimeout).unref();
  }

  /** Runs to the end: every input read and every record acked, or a stop. Resolves with the elapsed seconds. */
  async run(): Promise<number> {
    const { options, spool, sources, sender } = this;
    this.watch();
    await this.serveMetrics();
    tellSpoolAtStart(spool, options.spoolDir, options.tag, this.hooks.info, this.hooks.note);
    tellSpoolDeleted(spool, options.spoolDir, this.hooks.note);
    if (this.deadLetter) tellDeadLetterRemade(this.deadLetter, options.deadLetter!, this.hooks.note);
    if (this.readers > 1) this.hooks.info(readersNote(this.readers, sources.length));
    // --retry-timeout by default: 2 minutes once a finite input has ended (files end from the start), never for a live tail.
    const autoRetry = options.retryTimeout === undefined && !sources.some((s) => s.live);
    if (autoRetry && filesOnly(sources)) sender.setRetryTimeout(DEFAULT_RETRY_TIMEOUT_MS);
    this.watchSpace();
    // Past --shutdown-timeout after a stop signal (or at the second), a checkpoint save or invalid lines waiting for disk room fail.
    void this.deadline.then(() => {
      this.checkpoint?.stopWaiting();
      this.deadLetter?.stopWaiting();
    });
    await rememberSpooled(sources, spool);
    this.started = process.hrtime.bigint();
    this.stopCollecting = collectOldGeneration(() => this.counts.lines);
    const reading = (async () => {
      // A stop while no server has answered yet: nothing was read, so there is nothing to wait for
      // (it waited out --shutdown-timeout for acks of nothing).
      if (options.requireConn) await Promise.race([sender.start(), this.stopping, this.deadline]);
      if (!this.stop.signal) this.stop.readFailures = await this.pipeline.run(sources);
      if (autoRetry) sender.setRetryTimeout(DEFAULT_RETRY_TIMEOUT_MS);
    })();
    const work = reading.then(() => spool.drained());
    const fail = (error: unknown) => (this.failure ??= error);
    await Promise.race([work.catch(fail), this.forwarder.finished(), this.deadline]);
    // Every record already taken from the input is written to the spool before it closes.
    this.pipeline.stop();
    spool.finish();
    this.forwarder.stop();
    await sender.close(0);
    await reading.catch(fail);
    // The last invalid lines read may still wait for disk room (src/ship/dead-letter.ts).
    await this.deadLetter?.kept()?.catch(fail);
    const { checkpoint } = this;
    // Once every input was read to its end, the checkpoint forgets the files since deleted.
    if (checkpoint && !this.failure && !this.stop.signal && sources.every((s) => s.exhausted)) {
      try {
        forgetGoneFiles(checkpoint, this.hooks.note, this.hooks.info);
      } catch (error) {
        fail(error);
      }
    }
    await spool.close();
    await work.catch(fail);
    this.sayFills();
    this.stopCollecting();
    // The checkpoint and kubectl positions are written off the main thread: their last positions
    // must be on disk, or said not to be.
    await this.checkpoint?.saved().catch(fail);
    for (const source of sources) await source.saved?.().catch(fail);
    if (isWriteFailure(this.failure)) this.stop.writeFailure = this.failure;
    const { gaveUp } = this.stop;
    if (gaveUp)
      this.hooks.note(
        `audit-ship: gave up: ${gaveUp.message}${gaveUp.lastFailure ? `; the last try: ${gaveUp.lastFailure.message}` : ''}\n`,
      );
    return this.elapsedSeconds;
  }

  /** Closes all the run holds; safe to call more than once, and after a failed run(). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.pipeline.stop();
      this.forwarder.stop();
      await this.sender.close(0);
      await this.spool.close();
      await this.checkpoint?.close();
      this.deadLetter?.close();
      await this.metricsServer?.close();
      this.stopHealth();
      this.stopCollecting();
    })();
    return this.closing;
  }

  /** Says what the link and the spool do, and stops the run on a fatal error or a lost lock. */
  private watch(): void {
    const { counts, sender, hooks } = this;
    tellLink(sender, counts, hooks.note);
    let reached = false;
    sender.on('state', (state) => {
      reached ||= state === 'connected';
      if (reached) this.unreached = null;
    });
    sender.on('connect-error', (error) => {
      if (!reached) this.unreached = error.message;
    });
    sender.on('fatal', (error) => {
      if (error instanceof RetryTimeoutError) this.stop.gaveUp ??= error;
      else this.fatal ??= error;
      this.pipeline.stop();
    });
    // Another shipper judged this one dead and took the spool: stop at once, so that two never share it.
    this.spool.onLockLost((error) => {
      this.fatal ??= error;
      this.pipeline.stop();
      this.expire();
    });
  }

  private async serveMetrics(): Promise<void> {
    const { options, sender, spool, counts, checkpoint, deadLetter } = this;
    const port = options.metricsPort;
    if (port === undefined) return;
    const { serveRunMetrics } = await import('./run-metrics.js');
    const kube = this.sources.find((s) => s.kube)?.kube ?? null;
    const { tlsExpiries } = this.hooks;
    const parts = { counts, spool, sender, kube, checkpoint, deadLetter, tlsExpiries };
    const served = await serveRunMetrics(parts, { ...options, metricsPort: port });
    this.metricsServer = served.server;
    this.stopHealth = served.stopHealth;
    this.hooks.info(`audit-ship: metrics on ${served.server.url}/metrics\n`);
  }

  /** A full disk under the spool: after --retry-timeout (by default 2 minutes for files, never for a live tail) the run gives up on it. */
  private watchSpace(): void {
    const { spoolDir, chunkBytes } = this.options;
    this.sayFills = watchSpace(this.spool, { spoolDir, chunkBytes }, this.fullDiskLimitMs, this.hooks.note, (error) => {
      this.stop.writeFailure ??= error;
      this.pipeline.stop();
      this.spool.finish();
    });
  }
}
