/**
 * --workers N: a backfill of many files uses the cores it has. Each worker thread
 * (src/ship/worker.ts) reads one job at a time (a file, or several small ones in a row), the next
 * from the list when it is done, through the same pipeline as a single reader: lines stay in order
 * within a file, and each file's chunks reach the spool in order. The main thread keeps what there is one of: the spool, the
 * checkpoint file, the dead-letter file, the senders and the counts. A single file is read by one
 * thread: its lines must be split in order, a gzip stream cannot be entered mid-way, and its
 * checkpoint is one position that moves forward.
 */
import { Worker } from 'node:worker_threads';
import { InputReadError, NotTextError } from '../errors.js';
import type { InputSource } from '../input/sources.js';
import { workerResourceLimits } from './young-generation.js';
import type { ShipCounts } from './counts.js';
import type { PipelineOptions, ReadFailure } from './pipeline.js';
import { resumeFrom } from './resume.js';
import { chunkSaves, type ChunkSaves, type ChunkSink } from './spool-writer.js';
import {
  asBuffer,
  READING_COUNTS,
  type FileJob,
  type FilesJob,
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

/**
 * The next file joins a job while the job stays within this many bytes and within a quarter of a
 * worker's share of what is left, so that the last jobs are small and the workers finish together.
 * A worker waits for the spool at the end of a job, not at the end of each file.
 */
const JOB_BYTES = 16 * 1024 * 1024;
/** And at most this many files a job: each holds its first bytes until it is read (--checkpoint). */
const JOB_FILES = 64;

/** The files at the head of `queue` that make the next job, taken from it. */
export function takeJob(queue: InputSource[], readers: number): InputSource[] {
  let left = 0;
  for (const file of queue) left += file.size ?? 0;
  const limit = Math.min(JOB_BYTES, left / (4 * readers));
  const job = [queue.shift()!];
  let bytes = job[0]!.size ?? 0;
  while (job.length < JOB_FILES && queue.length > 0 && bytes + (queue[0]!.size ?? 0) <= limit) {
    const file = queue.shift()!;
    bytes += file.size ?? 0;
    job.push(file);
  }
  return job;
}

function readFailure(wire: WireReadFailure, source: InputSource): ReadFailure {
  switch (wire.kind) {
    case 'read':
      return { error: new InputReadError(wire.source, wire.detail, wire.inputOffset), source, linesRead: wire.linesRead };
    case 'not-text':
      return { error: new NotTextError(wire.source, wire.reason), source, linesRead: wire.linesRead };
  }
}

/** What a reader thread needs of the run it reads for. */
interface Run {
  readonly spool: ChunkSink;
  readonly options: PipelineOptions;
  readonly counts: ShipCounts;
  readonly stopping: boolean;
  /** The checkpoint's saves, counted in the chunks of every worker together; none without one. */
  readonly checkpointSaves: ChunkSaves | null;
  /** The next files to read, or none when there are none left or the run stops. */
  nextJob(): InputSource[];
  fail(error: unknown): void;
  readFailed(failure: ReadFailure): void;
}

/** One worker thread, given one job after another, and what it said so far. */
class ReaderThread {
  private readonly worker: Worker;
  /** The counts the worker last told, to add only what is new. */
  private readonly told: ReadingCounts = { ...Object.fromEntries(READING_COUNTS.map((k) => [k, 0])), invalidByCode: {} } as ReadingCounts;
  private files: InputSource[] = [];
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
        if (!this.ended) run.fail(new Error(`a reading worker stopped (exit code ${code}) before it had read ${this.names()}`));
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

  /** The next job, or the end of the thread. */
  private next(): void {
    this.files = this.run.nextJob();
    if (this.files.length === 0) return this.end();
    Promise.all(this.files.map((file) => this.fileJob(file))).then(
      (files) => this.send({ type: 'files', files } satisfies FilesJob),
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

  /** The current job's files, for a message. */
  private names(): string {
    const [first] = this.files;
    if (!first) return 'its file';
    return this.files.length === 1 ? first.name : `${first.name} and ${this.files.length - 1} more`;
  }

  /** A file as opened, and with --checkpoint its first bytes, read now, and where it starts. */
  private async fileJob(source: InputSource): Promise<FileJob> {
    const { checkpoint } = this.run.options;
    const path = source.path!;
    if (!checkpoint) return { path, ...(source.identity ? { identity: source.identity } : {}), resume: null };
    const { identity, point } = await resumeFrom(checkpoint, source, path);
    return { path, ...(identity ? { identity } : {}), resume: point };
  }

  private handle(m: FromWorker): void {
    const { options } = this.run;
    switch (m.type) {
      case 'append':
        this.progress(m.progress);
        return this.append(m);
      case 'checkpoint':
        return options.checkpoint!.record(m.path, m.position, m.mark);
      case 'invalid':
        return options.onInvalid(m.source, { ...m.line, bytes: asBuffer(m.line.bytes) }, m.diagnostics);
      case 'note':
        return options.onNote(m.message);
      case 'mark':
        return this.taken(m.mark);
      case 'progress':
        return this.progress(m.progress);
      case 'done':
        this.progress(m.progress);
        m.exhausted.forEach((exhausted, i) => (this.files[i]!.exhausted = exhausted));
        for (const f of m.failures) this.run.readFailed(readFailure(f.why, this.files[f.file]!));
        return this.next();
      case 'failed':
        this.progress(m.progress);
        this.run.fail(new Error(`a reading worker failed on ${this.names()}: ${m.message}`));
        return this.next();
    }
  }

  /**
   * The worker's invalid lines up to `mark` are handled: said once they are in the --dead-letter
   * file, which holds them in memory while its disk is full (the worker's reading waits for this).
   */
  private taken(mark: number): void {
    const taken = () => this.send({ type: 'taken', mark });
    const kept = this.run.options.pace?.();
    if (!kept) return taken();
    kept.then(taken, (error: unknown) => {
      this.run.fail(error);
      taken();
    });
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
    // Written once at most UNSAVED_CHUNKS chunks' recorded positions are unsaved (a worker
    // records a chunk's position before it sends its next chunk): what a crash repeats stays bounded.
    const saved = this.run.checkpointSaves?.spooled() ?? Promise.resolve();
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

  /** Adds what the worker counted since it last told, and the bytes read of its files. */
  private progress(p: WorkerProgress): void {
    const { counts } = this.run;
    const { told } = this;
    for (const key of READING_COUNTS) {
      counts[key] += p.counts[key] - told[key];
      told[key] = p.counts[key];
    }
    for (const [code, n] of Object.entries(p.counts.invalidByCode)) {
      counts.invalidByCode[code] = (counts.invalidByCode[code] ?? 0) + n - (told.invalidByCode[code] ?? 0);
      told.invalidByCode[code] = n;
    }
    // What is new since the last word, added: a sum over every source at each word grew with the
    // square of a backfill's number of files.
    p.bytesRead.forEach((bytes, i) => {
      const file = this.files[i]!;
      counts.bytesRead += bytes - file.bytesRead;
      file.bytesRead = bytes;
    });
  }
}

export class ParallelPipeline implements Run {
  stopping = false;
  private readonly threads = new Set<ReaderThread>();
  private queue: InputSource[] = [];
  /** What stopped the run: a write that failed here, or a worker that failed. */
  private error: unknown = null;
  private readonly failures: ReadFailure[] = [];
  readonly checkpointSaves: ChunkSaves | null;

  constructor(
    readonly spool: ChunkSink,
    readonly options: PipelineOptions,
    readonly counts: ShipCounts,
    private readonly readers: number,
  ) {
    this.checkpointSaves = chunkSaves(options.checkpoint);
  }

  /** Reads every source, `readers` at a time; the same outcome as ShipPipeline.run. */
  async run(sources: readonly InputSource[]): Promise<ReadFailure[]> {
    this.queue = [...sources];
    const count = Math.min(this.readers, sources.length);
    for (let i = 0; i < count; i++) this.threads.add(new ReaderThread(this));
    await Promise.all([...this.threads].map((t) => t.exited));
    this.threads.clear();
    if (this.error) throw this.error;
    return this.failures;
  }

  /** Stops reading: every worker leaves its file at once, after spooling what it has built. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const thread of this.threads) thread.stop();
  }

  nextJob(): InputSource[] {
    return this.stopping || this.queue.length === 0 ? [] : takeJob(this.queue, this.readers);
  }

  fail(error: unknown): void {
    this.error ??= error;
    this.stop();
  }

  /** A file could not be read to its end: the other files are read, as with one reader. */
  readFailed(failure: ReadFailure): void {
    this.failures.push(failure);
    this.counts.filesFailed++;
  }
}
