/**
 * One shipping run, from the inputs to the last ack: input → lines → verdict → batch → spool →
 * forward → ack → commit. A ShipRun opens everything a run holds before the first byte of input is
 * read, owns it while it runs, and closes all of it in one idempotent close(). The CLI keeps what
 * a CLI does: options, signals, the summary and the exit code (src/cli/ship.ts).
 */
import type { ShipOptions } from '../cli/ship-options.js';
import { OutputError } from '../errors.js';
import { ChunkBufferPool, chunkSlabBytes } from '../forward/buffer-pool.js';
import { RetryTimeoutError, type ForwardError } from '../forward/errors.js';
import { Sender, type SenderOptions } from '../forward/sender.js';
import type { InputSource } from '../input/sources.js';
import type { MetricsServer } from '../metrics/server.js';
import { SpoolClosedError, SpoolWriteError, type SpoolError } from '../spool/errors.js';
import { Spool } from '../spool/spool.js';
import { Checkpoint, CheckpointError } from './checkpoint.js';
import { runWindow } from './checkpoint-window.js';
import { goneNotes } from './checkpoint-gone.js';
import { emptyCounts, type ShipCounts } from './counts.js';
import { DeadLetterFile } from './dead-letter.js';
import { Forwarder, spooledBodies } from './forwarder.js';
import { openInputs, spooledRequestIds } from './inputs.js';
import type { ParallelPipeline } from './parallel.js';
import { ShipPipeline, type ReadFailure } from './pipeline.js';
import { pipelineOptions as runPipelineOptions, type PipelineHooks } from './pipeline-options.js';
import { collectOldGeneration } from './old-generation.js';
import { readersFor, readersNote } from './readers.js';
import {
  checkpointFullWait,
  DEFAULT_RETRY_TIMEOUT_MS,
  filesOnly,
  fullDiskLimitMs,
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

  private constructor(
    readonly options: ShipOptions,
    readonly sources: InputSource[],
    readonly spool: Spool,
    bodies: ChunkBufferPool,
    private readonly checkpoint: Checkpoint | null,
    private readonly deadLetter: DeadLetterFile | null,
    private readonly hooks: RunHooks,
    /** Threads reading the inputs at once (src/ship/readers.ts). */
    readonly readers: number,
    /** The worker pipeline, loaded by open() when more than one thread reads. */
    parallel: typeof ParallelPipeline | null,
  ) {
    this.sender = new Sender({ ...hooks.sender, bodies: spooledBodies(spool, bodies) });
    const pipelineOptions = runPipelineOptions(options, hooks.pipeline, {
      counts: this.counts,
      bodies,
      checkpoint,
      deadLetter,
      note: hooks.info,
    });
    this.pipeline = parallel
      ? new parallel(spool, pipelineOptions, this.counts, this.readers)
      : new ShipPipeline(spool, pipelineOptions, this.counts);
    this.forwarder = new Forwarder(spool, this.sender, this.counts, (chunk) => bodies.recycle(chunk.entries));
  }

  /** Opens the inputs, the checkpoint, the dead-letter file and the spool: every check that can fail before input is read. */
  static async open(files: string[], options: ShipOptions, hooks: RunHooks): Promise<ShipRun> {
    const sources = await openInputs(files, options, hooks.note);
    const readers = readersFor(options, sources);
    // Worker threads only for more than one reader: one reader does without their modules.
    const parallel = readers > 1 ? (await import('./parallel.js')).ParallelPipeline : null;
    const checkpoint =
      options.checkpoint === undefined
        ? null
        : await Checkpoint.load(
            options.checkpoint,
            runWindow(options.since, options.until),
            checkpointFullWait(fullDiskLimitMs(options.retryTimeout, sources), hooks.note),
          );
    let deadLetter: DeadLetterFile | null = null;
    try {
      deadLetter = options.deadLetter === undefined ? null : DeadLetterFile.open(options.deadLetter);
      // About as many slabs are free at once as the window holds.
      const bodies = new ChunkBufferPool(chunkSlabBytes(options.chunkBytes), options.window);
      const spool = await Spool.open({
        dir: options.spoolDir,
        maxBytes: options.spoolMaxBytes,
        overflow: options.spoolOverflow,
        fsync: options.spoolFsync,
        tag: options.tag,
        bodies,
      });
      return new ShipRun(options, sources, spool, bodies, checkpoint, deadLetter, hooks, readers, parallel);
    } catch (error) {
      await checkpoint?.close();
      deadLetter?.close();
      throw error;
    }
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
    this.hooks.note(
      `audit-ship: ${signal}: reading stopped, waiting up to ${span(this.options.shutdownTimeout)} for acks (${signal} again: stop now); the rest stays in the spool\n`,
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
    this.deadLetter?.onRemade((gone) =>
      this.hooks.note(
        gone === 'deleted'
          ? `audit-ship: the --dead-letter file ${options.deadLetter} was deleted while in use, by something other than audit-ship; made again, and invalid lines go on into it\n`
          : `audit-ship: the --dead-letter file ${options.deadLetter} was moved away while in use (rotated?); invalid lines go on into ${options.deadLetter} (the one being written then is in both files)\n`,
      ),
    );
    if (this.readers > 1) this.hooks.info(readersNote(this.readers, sources.length));
    // --retry-timeout by default: 2 minutes once a finite input has ended (files end from the start), never for a live tail.
    const autoRetry = options.retryTimeout === undefined && !sources.some((s) => s.live);
    if (autoRetry && filesOnly(sources)) sender.setRetryTimeout(DEFAULT_RETRY_TIMEOUT_MS);
    this.watchSpace();
    // Past --shutdown-timeout after a stop signal (or at the second), a checkpoint save waiting for disk room fails.
    void this.deadline.then(() => this.checkpoint?.stopWaiting());
    await this.rememberSpooled();
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
    this.forgetGoneFiles(fail);
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

  /**
   * Once every input was read, drops the checkpoint's entries of files since deleted (a cron job
   * over rotated logs), and names any that went before they were shipped to their end: their
   * remaining lines can no longer be read.
   */
  private forgetGoneFiles(fail: (error: unknown) => void): void {
    const { checkpoint, sources, hooks } = this;
    if (!checkpoint || this.failure || this.stop.signal || !sources.every((s) => s.exhausted)) return;
    try {
      const gone = goneNotes(checkpoint.forgetGone());
      for (const note of gone.unread) hooks.note(`audit-ship: checkpoint: ${note}\n`);
      if (gone.forgot) hooks.info(`audit-ship: checkpoint: ${gone.forgot}\n`);
    } catch (error) {
      fail(error);
    }
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
    const { options, sender, spool, counts } = this;
    if (options.metricsPort === undefined) return;
    const { serveRunMetrics } = await import('./run-metrics.js');
    const served = await serveRunMetrics({
      counts,
      spool,
      sender,
      kube: this.sources.find((s) => s.kube)?.kube ?? null,
      spoolMaxBytes: options.spoolMaxBytes,
      host: options.metricsHost,
      port: options.metricsPort,
      watchdogMs: options.watchdog,
    });
    this.metricsServer = served.server;
    this.stopHealth = served.stopHealth;
    this.hooks.info(`audit-ship: metrics on ${served.server.url}/metrics\n`);
  }

  /** A full disk under the spool: after --retry-timeout (by default 2 minutes for files, never for a live tail) the run gives up on it. */
  private watchSpace(): void {
    const limit = fullDiskLimitMs(this.options.retryTimeout, this.sources);
    const { spoolDir, chunkBytes } = this.options;
    this.sayFills = watchSpace(this.spool, { spoolDir, chunkBytes }, limit, this.hooks.note, (error) => {
      this.stop.writeFailure ??= error;
      this.pipeline.stop();
      this.spool.finish();
    });
  }

  /** A live tail resumed after a crash recognises the records still in the spool as repeats (src/ship/inputs.ts). */
  private async rememberSpooled(): Promise<void> {
    const inputs = this.sources.filter((s) => s.remember);
    if (inputs.length === 0 || this.spool.stats.records === 0) return;
    const ids = await spooledRequestIds(this.spool);
    for (const input of inputs) input.remember!(ids);
  }
}
