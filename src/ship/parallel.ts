/**
 * --workers N: a backfill of many files uses the cores it has. Each worker thread
 * (src/ship/worker.ts) reads one file at a time, the next from the list when it is done, through
 * the same pipeline as a single reader: lines stay in order within a file, and each file's chunks
 * reach the spool in order. The main thread keeps what there is one of: the spool, the
 * checkpoint file, the dead-letter file, the senders and the counts. A single file is read by one
 * thread: its lines must be split in order, a gzip stream cannot be entered mid-way, and its
 * checkpoint is one position that moves forward.
 */
import { Worker } from 'node:worker_threads';
import { InputReadError, NotTextError } from '../errors.js';
import { readIdentity, totalBytesRead, type InputSource } from '../input/sources.js';
import { workerResourceLimits } from './young-generation.js';
import type { ShipCounts } from './counts.js';
import type { PipelineOptions, ReadFailure } from './pipeline.js';
import { UNSAVED_CHUNKS, type ChunkSink } from './spool-writer.js';
import {
  asBuffer,
  asIdentity,
  READING_COUNTS,
  type FileJob,
  type FromWorker,
  type ReadingCounts,
  type ToWorker,
  type WireReadFailure,
  type WorkerOptions,
  type WorkerProgress,
} from './worker-messages.js';

function workerOptions(o: PipelineOptions): WorkerOptions {
  const { classify, maxLineBytes, chunkLimits, gzipLevel, flushIntervalMs, timeSource, since, until, kubernetesMetadata } = o;
  return { classify, maxLineBytes, chunkLimits, gzipLevel, flushIntervalMs, timeSource, since, until, kubernetesMetadata };
}

function readFailure(wire: WireReadFailure, source: InputSource): ReadFailure {
  switch (wire.kind) {
    case 'read':
      return { error: new InputReadError(wire.source, wire.detail, wire.inputOffset), source, linesRead: wire.linesRead };
    case 'not-text':
      return { error: new NotTextError(wire.source, wire.reason), source, linesRead: wire.linesRead };
    case 'open':
      return { error: new InputReadError(source.name, `could not be opened again (${wire.message})`, 0), source, linesRead: 0 };
  }
}

/** What a reader thread needs of the run it reads for. */
interface Run {
  readonly spool: ChunkSink;
  readonly options: PipelineOptions;
  readonly counts: ShipCounts;
  readonly sources: readonly InputSource[];
  readonly stopping: boolean;
  /** The next file to read, or null when there is none left or the run stops. */
  nextFile(): InputSource | null;
  fail(error: unknown): void;
  readFailed(failure: ReadFailure): void;
}

/** One worker thread, given one file after another, and what it said so far. */
class ReaderThread {
  private readonly worker: Worker;
  /** The counts the worker last told, to add only what is new. */
  private readonly told: ReadingCounts = { ...Object.fromEntries(READING_COUNTS.map((k) => [k, 0])), invalidByCode: {} } as ReadingCounts;
  private current: InputSource | null = null;
  private ended = false;
  /** Resolves once the thread has exited. */
  readonly exited: Promise<void>;

  constructor(private readonly run: Run) {
    const resourceLimits = workerResourceLimits();
    this.worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: workerOptions(run.options),
      ...(resourceLimits ? { resourceLimits } : {}),
    });
    this.worker.on('message', (m: FromWorker) => {
      try {
        this.handle(m);
      } catch (error) {
        run.fail(error);
      }
    });
    this.worker.on('error', (error) => run.fail(error));
    this.exited = new Promise((resolve) =>
      this.worker.on('exit', (code) => {
        if (!this.ended)
          run.fail(new Error(`a reading worker stopped (exit code ${code}) before ${this.current?.name ?? 'its file'} was read`));
        resolve();
      }),
    );
    this.next();
  }

  stop(): void {
    this.send({ type: 'stop' });
  }

  private send(message: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  /** The next file, or the end of the thread. */
  private next(): void {
    this.current = this.run.nextFile();
    if (!this.current) return this.end();
    this.job(this.current).then(
      (job) => this.send(job),
      (error: unknown) => {
        this.run.fail(error);
        this.end();
      },
    );
  }

  private end(): void {
    this.ended = true;
    this.send({ type: 'end' });
  }

  /** The file as opened, and with --checkpoint its first bytes, read now, and where it starts. */
  private async job(source: InputSource): Promise<FileJob> {
    const { checkpoint } = this.run.options;
    const path = source.path!;
    if (!checkpoint) return { type: 'file', path, ...(source.identity ? { identity: source.identity } : {}), resume: null };
    const identity = await readIdentity(source);
    const resume = checkpoint.resumePoint(path, { size: source.size ?? 0, ...(identity ? { identity } : {}) });
    return { type: 'file', path, ...(identity ? { identity } : {}), resume };
  }

  private handle(m: FromWorker): void {
    const { options } = this.run;
    const source = this.current!;
    switch (m.type) {
      case 'append':
        this.progress(m.progress);
        return this.append(m);
      case 'checkpoint':
        return options.checkpoint!.record(m.path, m.position, asIdentity(m.identity));
      case 'invalid':
        return options.onInvalid(m.source, { ...m.line, bytes: asBuffer(m.line.bytes) }, m.diagnostics);
      case 'note':
        return options.onNote(m.message);
      case 'mark':
        return this.send({ type: 'taken', mark: m.mark });
      case 'progress':
        return this.progress(m.progress);
      case 'done':
        this.progress(m.progress);
        source.exhausted = m.exhausted;
        if (m.failure) this.run.readFailed(readFailure(m.failure, source));
        return this.next();
      case 'failed':
        this.progress(m.progress);
        this.run.fail(new Error(`a reading worker failed on ${source.name}: ${m.message}`));
        return this.next();
    }
  }

  /**
   * Writes a chunk to the spool and says so. The body is copied into this thread's pool, reused
   * after the ack, and the worker's memory goes back to it: memory that crossed threads would
   * otherwise die old, freed only by a full collection tens of MB later (measured: 70 MB more
   * peak RSS with two workers).
   */
  private append(m: Extract<FromWorker, { type: 'append' }>): void {
    const { bodies } = this.run.options;
    const body = asBuffer(m.entries);
    const entries = bodies ? bodies.copy(body, body.length) : body;
    const slab = bodies ? (m.entries.buffer as ArrayBuffer) : null;
    const reply = (ok: boolean) => this.send({ type: 'appended', seq: m.seq, ok, slab }, slab ? [slab] : []);
    // Written once at most UNSAVED_CHUNKS recorded positions are unsaved (a worker records a
    // chunk's position before it sends its next chunk): what a crash repeats stays bounded.
    const saved = this.run.options.checkpoint?.saved?.(UNSAVED_CHUNKS) ?? Promise.resolve();
    const chunk = { id: m.id, entries, count: m.count, compressed: m.compressed, retries: 0 };
    saved
      .then(() => this.run.spool.append(chunk))
      .then(
        () => reply(true),
        (error: unknown) => {
          this.run.fail(error);
          reply(false);
        },
      );
  }

  /** Adds what the worker counted since it last told, and the bytes read of its file. */
  private progress(p: WorkerProgress): void {
    const { counts, sources } = this.run;
    const { told } = this;
    for (const key of READING_COUNTS) {
      counts[key] += p.counts[key] - told[key];
      told[key] = p.counts[key];
    }
    for (const [code, n] of Object.entries(p.counts.invalidByCode)) {
      counts.invalidByCode[code] = (counts.invalidByCode[code] ?? 0) + n - (told.invalidByCode[code] ?? 0);
      told.invalidByCode[code] = n;
    }
    this.current!.bytesRead = p.bytesRead;
    counts.bytesRead = totalBytesRead(sources);
  }
}

export class ParallelPipeline implements Run {
  stopping = false;
  sources: readonly InputSource[] = [];
  private readonly threads = new Set<ReaderThread>();
  private queue: InputSource[] = [];
  /** What stopped the run: a write that failed here, or a worker that failed. */
  private error: unknown = null;
  private failure: ReadFailure | null = null;

  constructor(
    readonly spool: ChunkSink,
    readonly options: PipelineOptions,
    readonly counts: ShipCounts,
    private readonly readers: number,
  ) {}

  /** Reads every source, `readers` at a time; the same outcome as ShipPipeline.run. */
  async run(sources: readonly InputSource[]): Promise<ReadFailure | null> {
    this.sources = sources;
    this.queue = [...sources];
    const count = Math.min(this.readers, sources.length);
    for (let i = 0; i < count; i++) this.threads.add(new ReaderThread(this));
    await Promise.all([...this.threads].map((t) => t.exited));
    this.threads.clear();
    this.counts.bytesRead = totalBytesRead(sources);
    if (this.error) throw this.error;
    return this.failure;
  }

  /** Stops reading: every worker leaves its file at once, after spooling what it has built. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const thread of this.threads) thread.stop();
  }

  nextFile(): InputSource | null {
    return this.stopping ? null : (this.queue.shift() ?? null);
  }

  fail(error: unknown): void {
    this.error ??= error;
    this.stop();
  }

  /** A file could not be read to its end: reading stops, as with one reader. */
  readFailed(failure: ReadFailure): void {
    this.failure ??= failure;
    this.stop();
  }
}
