/**
 * input → lines → verdict → batch. Each line read goes to the LineAcceptor (src/ship/accept.ts),
 * which appends valid records to the current chunk; a full chunk (or one older than the flush
 * interval, for a live tail) goes to the spool (src/ship/spool-writer.ts), from where the
 * forwarder sends it. Reading waits for the spool: when the spool is full under
 * `block`, backpressure reaches the input. Every line read ends in exactly one count.
 */
import { InputReadError, NotTextError } from '../errors.js';
import { RuntimeLogJoiner } from '../input/runtime-log.js';
import { splitLines, type Line } from '../input/lines.js';
import { cutShort } from '../schema/line.js';
import { totalBytesRead, type InputSource } from '../input/sources.js';
import type { ChunkBufferPool } from '../forward/buffer-pool.js';
import { ChunkBuilder } from '../forward/chunk.js';
import type { ChunkLimits } from '../forward/chunk-limits.js';
import { LineAcceptor, type AcceptOptions } from './accept.js';
import { SpoolWriter, type CheckpointBook, type ChunkSink, type Position } from './spool-writer.js';
import { emptyCounts, type ShipCounts } from './counts.js';
import { markOf, type FileMark } from './checkpoint.js';
import { resumeFrom } from './resume.js';
import { cutWindow } from './checkpoint-window.js';
import type { RateLimiter } from './rate.js';

export interface PipelineOptions extends AcceptOptions {
  chunkLimits: ChunkLimits;
  /** gzip each chunk at this level, or not at all (null). */
  gzipLevel: number | null;
  /** Memory for chunk bodies, given back by the forwarder once they are acked. */
  bodies: ChunkBufferPool | null;
  flushIntervalMs: number;
  rate: RateLimiter | null;
  /**
   * After each batch of lines: a wait until what the batch handed on elsewhere has been taken (a
   * worker's invalid lines, by the main thread; invalid lines, by a --dead-letter file whose disk
   * is full), so that nothing queues without bound; or null.
   */
  pace?: () => Promise<void> | null;
  checkpoint: CheckpointBook | null;
}

/** An input that could not be read to its end, and the lines of it read before the fault. */
export interface ReadFailure {
  error: InputReadError | NotTextError;
  source: InputSource;
  linesRead: number;
}

export class ShipPipeline {
  private readonly builder: ChunkBuilder;
  private readonly acceptor: LineAcceptor;
  private readonly spoolWriter: SpoolWriter;
  /**
   * Where reading stands: the last line handed to the acceptor. Kept as fields and made into a
   * Position only when one is asked for (a chunk is closed): an object a line was a tenth of what
   * a backfill allocated.
   */
  private atSource: InputSource | null = null;
  private atEnd = 0;
  private atLine = 0;
  private sources: readonly InputSource[] = [];
  /** Bytes read of the sources before the one being read: added up once each, not once a batch. */
  private bytesBefore = 0;
  /**
   * With --checkpoint, the mark of each file whose positions may still be recorded: the one
   * being read, and those read to their end whose last chunk is not yet spooled.
   */
  private readonly marks = new Map<InputSource, FileMark>();
  /** Files whose last line was left for the next run (holdsUnfinished): not recorded as done. */
  private readonly held = new Set<InputSource>();
  private stopping = false;
  /** After stop(), the current input is being read to the end of what it already holds. */
  private draining = false;
  private current: InputSource | null = null;
  /** Ends the read in progress; set only while one is pending. */
  private interruptRead: (() => void) | null = null;

  constructor(
    spool: ChunkSink,
    private readonly options: PipelineOptions,
    readonly counts: ShipCounts = emptyCounts(),
  ) {
    this.builder = new ChunkBuilder(options.chunkLimits, options.bodies);
    this.spoolWriter = new SpoolWriter(spool, this.builder, counts, options, () => this.position());
    this.acceptor = new LineAcceptor(this.builder, options, counts, () => this.spoolWriter.added());
  }

  /**
   * Reads and spools every source in order; rejects if the spool or checkpoint cannot be written.
   * An input that fails while it is read (a truncated gzip, not text) is left there, what was read
   * of it still spooled, and the next input is read: one damaged archive must not hold back a
   * backfill's later files, run after run from a checkpoint that stops at the same fault. Each
   * failure is returned for the exit status to report.
   */
  async run(sources: readonly InputSource[]): Promise<ReadFailure[]> {
    this.sources = sources;
    const failures: ReadFailure[] = [];
    let previous: InputSource | null = null;
    try {
      for (const source of sources) {
        if (this.stopping) break;
        // Sources are read one after another: one that is behind reads no more.
        this.bytesBefore += previous?.bytesRead ?? 0;
        previous = source;
        if (!(await this.startAt(source))) {
          source.exhausted = true;
          continue;
        }
        this.current = source;
        let finished: boolean;
        try {
          finished = await this.readSource(source);
        } catch (error) {
          // What was read before the failure is still spooled (or counted as not spooled).
          if (!(error instanceof InputReadError || error instanceof NotTextError)) {
            await this.spoolWriter.flush().catch(() => {});
            throw error;
          }
          await this.spoolWriter.flush();
          const at = this.position();
          const linesRead = at?.source === source ? at.line : (source.resume?.line ?? 0);
          failures.push({ error, source, linesRead });
          this.counts.filesFailed++;
          continue;
        }
        if (!finished) break;
        this.recordDone(source);
      }
      await this.spoolWriter.flush();
      return failures;
    } finally {
      this.spoolWriter.stop();
      this.counts.bytesRead = totalBytesRead(sources);
    }
  }

  /**
   * Stops reading. An input that can be ended (stdin, kubectl) is ended, and what it already
   * holds is still read and spooled: those lines cannot be read again. A file is left at once;
   * a re-run (with --checkpoint, from where it stopped) reads the rest.
   */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    const current = this.current;
    this.draining = current?.close !== undefined;
    if (this.draining) current!.close!();
    else this.interruptRead?.();
    for (const source of this.sources) if (source !== current) source.close?.();
  }

  private position(): Position | null {
    const source = this.atSource;
    if (source === null) return null;
    const mark = this.marks.get(source);
    return mark ? { source, end: this.atEnd, line: this.atLine, mark } : { source, end: this.atEnd, line: this.atLine };
  }

  /** Applies the checkpoint; false when the file was already shipped completely. */
  private async startAt(source: InputSource): Promise<boolean> {
    const checkpoint = this.options.checkpoint;
    if (!checkpoint) return true;
    if (source.path === null) {
      // A named pipe or device (stdin with --checkpoint is refused): no place in it to resume from.
      this.options.onNote(`${source.name}: read as a stream, so --checkpoint keeps no place in it: a run reads what comes while it runs`);
      return true;
    }
    const { identity, point } = await resumeFrom(checkpoint, source, source.path);
    if (point.kind === 'done') {
      // Said one by one only when found under another name; the summary counts them all.
      this.counts.filesAlreadyShipped++;
      if (point.reason) this.options.onNote(`${source.name}: ${point.reason} (checkpoint), skipped`);
      return false;
    }
    if (identity) this.marks.set(source, markOf(identity));
    if (point.kind === 'resume') {
      source.resume = { offset: point.offset, line: point.line };
      // A copy's last line is as it will stay: cut short, it is an invalid line (the rest of it
      // went to the file that was truncated), not one to wait for.
      if (point.copied) delete source.growing;
      this.options.onNote(`${source.name}: ${point.reason ?? `resuming after line ${point.line}`} (checkpoint)`);
    } else if (point.reason) {
      this.options.onNote(`${source.name}: ${point.reason}`);
    }
    return true;
  }

  /** Marks a file read to its end as done in the checkpoint, once its last lines are in the spool. */
  private recordDone(source: InputSource): void {
    const checkpoint = this.options.checkpoint;
    const path = source.path;
    if (!checkpoint || path === null) return;
    const [offset, line] = this.standing(source);
    const done = { offset, line, size: source.size ?? 0, done: !this.held.has(source), ...cutWindow(source, this.options) };
    const mark = this.marks.get(source);
    this.spoolWriter.whenSpooled(() => {
      checkpoint.record(path, done, mark);
      this.marks.delete(source);
    });
  }

  /**
   * With --checkpoint, the last line of a plain file that is not finished (no end of line, or no
   * last part of a line the runtime split) and holds no whole JSON value is left for the next run,
   * which reads it again from its start: its writer may be mid-line (a buffered logger writes in
   * blocks). Read as it was, it was an invalid line that the checkpoint passed, and the record it
   * became was lost, its rest read as a line of its own. A line over --max-line-bytes is reported
   * now: finished, it would be refused all the same.
   */
  private holdsUnfinished(source: InputSource, line: Line): boolean {
    if (!this.options.checkpoint || source.growing !== true || line.overLimit > 0 || !cutShort(line)) return false;
    this.held.add(source);
    this.options.onNote(
      `${source.name}: line ${line.number} is not finished and holds no whole JSON value (still being written?): left for the next run (checkpoint)`,
    );
    return true;
  }

  /** Where reading stands in `source` before its next line: where a resume would start, and where a file read to its end is recorded. */
  private standing(source: InputSource): [number, number] {
    return this.atSource === source ? [this.atEnd, this.atLine] : [source.resume?.offset ?? 0, source.resume?.line ?? 0];
  }

  /** Reads one source to its end; false when stop() cut it short. */
  private async readSource(source: InputSource): Promise<boolean> {
    const split = { maxLineBytes: this.options.maxLineBytes, ...(source.resume ? { resume: source.resume } : {}) };
    const batches = splitLines(source.chunks(), split)[Symbol.asyncIterator]();
    const { rate, writer } = this.options;
    const joiner = new RuntimeLogJoiner(this.options.maxLineBytes);
    let ended = false;
    try {
      for (;;) {
        const next = await this.nextBatch(batches);
        if (next === 'stop') return false;
        // At the end, the parts of a split line whose last part never came, as one line.
        const lines = next.done ? joiner.rest() : next.value;
        // Indexed, not for-of: across the awaits below, each step of an array iterator allocated
        // its result object (a tenth of what a backfill allocated).
        for (let i = 0; i < lines.length; i++) {
          let line = lines[i]!;
          if (joiner.wants(line)) {
            const before = this.standing(source);
            const whole = joiner.take(line);
            // A part of a split line: positions stay before its first part until its last is read.
            if (whole === null) {
              this.atSource = source;
              [this.atEnd, this.atLine] = before;
              continue;
            }
            line = whole;
          }
          if (line.unterminated === true && this.holdsUnfinished(source, line)) continue;
          const added = this.acceptor.accept(source, line, this.draining);
          this.atSource = source;
          // Lines of another stream between the parts are read, but a resume must start before
          // the first part: they are read again then (they are whole), never the parts lost.
          if (!joiner.waiting) {
            this.atEnd = line.end;
            this.atLine = line.number;
          }
          if (!added) continue;
          if (this.builder.full) await this.spoolWriter.rotate();
          // After stop(), what is left is spooled without the rate limit, which could take minutes.
          if (rate && !this.stopping) await rate.take();
        }
        if (writer) await writer.flush();
        if (next.done) return (ended = true);
        const paced = this.options.pace?.();
        if (paced) await paced;
        this.spoolWriter.passIdle();
        // Not a sum over every source: with 50,000 small files that sum, once a batch, took 44% of the run's CPU.
        this.counts.bytesRead = this.bytesBefore + source.bytesRead;
        if (this.spoolWriter.failure) throw this.spoolWriter.failure;
      }
    } finally {
      // Stopped, or a write failed: the reader is ended once its pending read is done, so that it
      // closes its file itself (not the garbage collector, with a warning, or never).
      if (!ended) void batches.return?.(undefined).catch(() => {});
    }
  }

  /**
   * The next batch, or 'stop' as soon as stop() is called. Not Promise.race with one long-lived
   * stop promise: every race would leave a reaction on it that holds its batch for ever.
   */
  private nextBatch(batches: AsyncIterator<Line[]>): Promise<IteratorResult<Line[]> | 'stop'> {
    if (this.stopping && !this.draining) return Promise.resolve('stop');
    return new Promise((resolve, reject) => {
      const interrupt = () => resolve('stop');
      this.interruptRead = interrupt;
      batches
        .next()
        .then(resolve, reject)
        .finally(() => {
          if (this.interruptRead === interrupt) this.interruptRead = null;
        });
    });
  }
}
