/**
 * input → lines → verdict → batch. Valid records are appended to the current chunk; a full chunk
 * (or one older than the flush interval, for a live tail) goes to the spool (src/ship/spool-writer.ts),
 * from where the forwarder sends it. Reading waits for the spool: when the spool is full under
 * `block`, backpressure reaches the input. Every line read ends in exactly one count.
 */
import { InputReadError, NotTextError } from '../errors.js';
import { kubectlPayloadOffset } from '../input/kubectl-prefix.js';
import { splitLines, type Line } from '../input/lines.js';
import { totalBytesRead, type InputSource } from '../input/sources.js';
import type { ChunkBufferPool } from '../forward/buffer-pool.js';
import { ChunkBuilder, MAX_RECORD_DEPTH, type ChunkLimits } from '../forward/chunk.js';
import { EventTime } from '../forward/event-time.js';
import { diagnostic, type Diagnostic } from '../schema/diagnostic.js';
import type { AuditRecordVerdict, ClassifyOptions } from '../schema/line.js';
import type { Spool } from '../spool/spool.js';
import { SpoolWriter, type Position } from './spool-writer.js';
import type { Checkpoint } from './checkpoint.js';
import { emptyCounts, type ShipCounts } from './counts.js';
import type { RateLimiter } from './rate.js';
import { LineJudge } from '../verdict/judge.js';
import type { TranscodedRecord } from '../verdict/record-transcoder.js';
import { before, type TimeBound } from '../schema/timestamp.js';

export interface PipelineOptions {
  classify: ClassifyOptions;
  maxLineBytes: number;
  chunkLimits: ChunkLimits;
  /** gzip each chunk at this level, or not at all (null). */
  gzipLevel: number | null;
  /** Memory for chunk bodies, given back by the forwarder once they are acked. */
  bodies: ChunkBufferPool | null;
  flushIntervalMs: number;
  /** `record`: the event time is the record's Timestamp; `now`: the time it is read. */
  timeSource: 'record' | 'now';
  /** Records outside [since, until) by Timestamp are counted as filtered and not shipped. */
  since: TimeBound | null;
  until: TimeBound | null;
  rate: RateLimiter | null;
  checkpoint: Checkpoint | null;
  /** Each invalid line, with its diagnostics; nothing is dropped silently. */
  onInvalid: (source: string, line: Line, diagnostics: Diagnostic[]) => void;
  /** Each valid record's JSON (for --stdout), and a flush at the end of every batch of lines. */
  writer: { write(json: string): void; flush(): Promise<void> } | null;
  /** Add `kubernetes: {namespace, pod, container}` to each record read from a pod (--kubernetes-metadata). */
  kubernetesMetadata: boolean;
  /** Status for the user: a resumed or already finished file. */
  onNote: (message: string) => void;
}

const KUBERNETES_KEY = Buffer.from('"kubernetes"');

/** A record's ids, read only by an input that drops repeats (kubectl). */
interface RecordIds {
  requestId(): string;
  timestamp(): string;
}

/** The read failure that stopped the run, and the lines of that input read before it. */
export interface ReadFailure {
  error: InputReadError | NotTextError;
  source: InputSource;
  linesRead: number;
}

export class ShipPipeline {
  private readonly builder: ChunkBuilder;
  private readonly judge: LineJudge;
  private readonly spoolWriter: SpoolWriter;
  private position: Position | null = null;
  private sources: readonly InputSource[] = [];
  private stopping = false;
  /** After stop(), the current input is being read to the end of what it already holds. */
  private draining = false;
  private current: InputSource | null = null;
  /** Ends the read in progress; set only while one is pending. */
  private interruptRead: (() => void) | null = null;

  constructor(
    spool: Spool,
    private readonly options: PipelineOptions,
    readonly counts: ShipCounts = emptyCounts(),
  ) {
    this.builder = new ChunkBuilder(options.chunkLimits, options.bodies);
    this.judge = new LineJudge(this.builder.writer, { ...options.classify, maxLineBytes: options.maxLineBytes });
    this.spoolWriter = new SpoolWriter(spool, this.builder, counts, options, () => this.position);
  }

  /**
   * Reads and spools every source in order; rejects if the spool or checkpoint cannot be written.
   * An input that fails while it is read (a truncated gzip, not text) stops the reading: what was
   * read before it is still spooled, and the failure is returned for the exit status to report.
   */
  async run(sources: readonly InputSource[]): Promise<ReadFailure | null> {
    this.sources = sources;
    try {
      for (const source of sources) {
        if (this.stopping) break;
        if (!this.startAt(source)) {
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
          const linesRead = this.position?.source === source ? this.position.line : (source.resume?.line ?? 0);
          return { error, source, linesRead };
        }
        await this.spoolWriter.flush();
        if (!finished) break;
        this.recordDone(source);
      }
      await this.spoolWriter.flush();
      return null;
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

  /** Applies the checkpoint; false when the file was already shipped completely. */
  private startAt(source: InputSource): boolean {
    const checkpoint = this.options.checkpoint;
    if (!checkpoint || source.path === null) return true;
    const point = checkpoint.resumePoint(source.path, {
      size: source.size ?? 0,
      ...(source.identity ? { identity: source.identity } : {}),
    });
    if (point.kind === 'done') {
      this.options.onNote(`${source.name}: ${point.reason ?? 'already shipped'} (checkpoint), skipped`);
      return false;
    }
    if (point.kind === 'resume') {
      source.resume = { offset: point.offset, line: point.line };
      this.options.onNote(`${source.name}: ${point.reason ?? `resuming after line ${point.line}`} (checkpoint)`);
    } else if (point.reason) {
      this.options.onNote(`${source.name}: ${point.reason}`);
    }
    return true;
  }

  private recordDone(source: InputSource): void {
    const checkpoint = this.options.checkpoint;
    if (!checkpoint || source.path === null) return;
    const end = this.position?.source === source ? this.position : { end: source.resume?.offset ?? 0, line: source.resume?.line ?? 0 };
    checkpoint.record(source.path, { offset: end.end, line: end.line, size: source.size ?? 0, done: true }, source.identity);
  }

  /** Reads one source to its end; false when stop() cut it short. */
  private async readSource(source: InputSource): Promise<boolean> {
    const split = { maxLineBytes: this.options.maxLineBytes, ...(source.resume ? { resume: source.resume } : {}) };
    const batches = splitLines(source.chunks(), split)[Symbol.asyncIterator]();
    const { rate, writer } = this.options;
    for (;;) {
      const next = await this.nextBatch(batches);
      if (next === 'stop') {
        // Ends the reader once its pending read is done, so that it closes its file itself (not the GC).
        void batches.return?.(undefined).catch(() => {});
        return false;
      }
      if (next.done) return true;
      for (const line of next.value) {
        const added = this.accept(source, line);
        this.position = { source, end: line.end, line: line.number };
        if (!added) continue;
        if (this.builder.full) await this.spoolWriter.rotate();
        // After stop(), what is left is spooled without the rate limit, which could take minutes.
        if (rate && !this.stopping) await rate.take();
      }
      if (writer) await writer.flush();
      this.counts.bytesRead = totalBytesRead(this.sources);
      if (this.spoolWriter.failure) throw this.spoolWriter.failure;
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

  /**
   * Counts one line; true when it added a record to the chunk being built. A valid record is
   * transcoded straight from its bytes; any other line goes through JSON.parse and the
   * validator, which give its diagnostics.
   */
  private accept(source: InputSource, line: Line): boolean {
    const c = this.counts;
    c.lines++;
    if (line.unterminated && this.draining) {
      // Stopped mid-line: the rest of this line is still in the pipe, never to be read by this run.
      this.reject(source, line, [
        diagnostic(
          'cut-at-stop',
          null,
          `the stop cut this line after ${line.overLimit || line.bytes.length} bytes; the rest of it was not read`,
        ),
      ]);
      return false;
    }
    const start = this.builder.beginEntry();
    const verdict = this.judge.judge(line);
    if (verdict.kind === 'fast') return this.acceptTranscoded(source, line, verdict, start);
    this.builder.cancelEntry(start);
    switch (verdict.kind) {
      case 'blank':
        c.blank++;
        return false;
      case 'skipped':
        c.skipped++;
        return false;
      case 'rejected':
        this.reject(source, line, verdict.diagnostics);
        return false;
      case 'record':
        return this.acceptRecord(source, line, verdict);
    }
  }

  private acceptTranscoded(source: InputSource, line: Line, record: TranscodedRecord, start: number): boolean {
    if (!this.admit(source, line, record.seconds, record.nanoseconds, record)) {
      this.builder.cancelEntry(start);
      return false;
    }
    if (this.options.kubernetesMetadata) this.addOrigin(source, line, start, null);
    this.endEntry(start, record.seconds, record.nanoseconds);
    this.accepted(this.options.writer ? line.bytes.toString('utf8', kubectlPayloadOffset(line.bytes)) : '');
    return true;
  }

  private acceptRecord(source: InputSource, line: Line, verdict: AuditRecordVerdict): boolean {
    if (!verdict.valid) {
      this.reject(source, line, verdict.diagnostics);
      return false;
    }
    const { seconds, nanoseconds, record } = verdict;
    if (
      !this.admit(source, line, seconds, nanoseconds, {
        requestId: () => record.RequestID as string,
        timestamp: () => record.Timestamp as string,
      })
    )
      return false;
    const start = this.builder.beginEntry();
    if (!this.builder.writeRecord(record)) {
      this.builder.cancelEntry(start);
      this.reject(source, line, [
        diagnostic('too-deep', null, `the record nests deeper than ${MAX_RECORD_DEPTH} levels, more than audit-ship encodes`),
      ]);
      return false;
    }
    if (this.options.kubernetesMetadata) this.addOrigin(source, line, start, record);
    this.endEntry(start, seconds, nanoseconds);
    this.accepted(verdict.json);
    return true;
  }

  /**
   * --kubernetes-metadata: `kubernetes: {namespace, pod, container}` at the end of the record just
   * written, unless the record has a `kubernetes` field of its own (kept as it is). The fast path
   * has no parsed record: a line that mentions the key at all is parsed to tell.
   */
  private addOrigin(source: InputSource, line: Line, start: number, record: Record<string, unknown> | null): void {
    const origin = source.origin?.(line.end);
    if (!origin) return;
    if (record === null && line.bytes.includes(KUBERNETES_KEY)) {
      record = JSON.parse(line.bytes.toString('utf8', kubectlPayloadOffset(line.bytes))) as Record<string, unknown>;
    }
    if (record !== null && Object.hasOwn(record, 'kubernetes')) return;
    this.builder.appendToRecord(start, 'kubernetes', origin);
  }

  /** Closes the entry begun at `start` with the record's time, or with --time-source now the time it is read. */
  private endEntry(start: number, seconds: number, nanoseconds: number): void {
    if (this.options.timeSource === 'now') {
      const now = Date.now();
      this.builder.endEntry(start, Math.floor(now / 1000), (now % 1000) * 1e6);
    } else {
      this.builder.endEntry(start, seconds, nanoseconds);
    }
  }

  /** Whether a valid record is shipped: its time fits the wire, lies within --since/--until, and is not a duplicate. */
  private admit(source: InputSource, line: Line, seconds: number, nanoseconds: number, ids: RecordIds): boolean {
    if (!EventTime.representable(seconds, nanoseconds)) {
      this.reject(source, line, [
        diagnostic('time-out-of-range', 'Timestamp', 'Fluentd event times run from 1970-01-01 to 2106-02-07 UTC'),
      ]);
      return false;
    }
    const { since, until } = this.options;
    if ((since && before(seconds, nanoseconds, since)) || (until && !before(seconds, nanoseconds, until))) {
      this.counts.filtered++;
      return false;
    }
    if (source.admit && !source.admit(ids.requestId(), ids.timestamp(), line.end)) {
      this.counts.duplicates++;
      return false;
    }
    return true;
  }

  private accepted(json: string): void {
    this.counts.valid++;
    this.options.writer?.write(json);
    this.spoolWriter.added();
  }

  private reject(source: InputSource, line: Line, diagnostics: Diagnostic[]): void {
    this.counts.invalid++;
    const seen = new Set<string>();
    for (const d of diagnostics) {
      if (d.severity !== 'error' || seen.has(d.code)) continue;
      seen.add(d.code);
      this.counts.invalidByCode[d.code] = (this.counts.invalidByCode[d.code] ?? 0) + 1;
    }
    this.options.onInvalid(source.name, line, diagnostics);
  }
}
