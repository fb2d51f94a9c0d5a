/**
 * --workers N: a backfill of many files uses the cores it has. Each worker thread
 * (src/ship/worker.ts) reads one file at a time, the next from the list when it is done, through
 * the same pipeline as a single reader: lines stay in order within a file, and each file's chunks
 * reach the spool in order. The main thread keeps what there is one of: the spool, the
 * checkpoint file, the dead-letter file, the senders and the counts. A single file is read by one
 * thread: its lines must be split in order, a gzip stream cannot be entered mid-way, and its
 * checkpoint is one position that moves forward.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { InputReadError, NotTextError } from '../errors.js';
import { totalBytesRead, type InputSource } from '../input/sources.js';
import type { ShipCounts } from './counts.js';
import type { PipelineOptions, ReadFailure } from './pipeline.js';
import type { ChunkSink } from './spool-writer.js';
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

/** --workers by default: at most this many (each thread holds a heap of its own, about 20 MB). */
export const MAX_DEFAULT_WORKERS = 4;

/**
 * One core fewer than the machine has, at most 4: the main thread (spool, checksums, sockets) needs
 * a core of its own. On two cores one reader is the default: a second one, sharing the cores with
 * the main thread, took 40% more CPU for no more records/s (bench/BENCHMARKS.md).
 */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(availableParallelism() - 1, MAX_DEFAULT_WORKERS));
}

/** Whether an input can be read by a worker: a regular file, which the worker opens again by its path. */
export function readableInWorker(source: InputSource): boolean {
  return source.path !== null && source.size !== null && !source.live;
}

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

export class ParallelPipeline {
  private stopping = false;
  private readonly workers = new Set<Worker>();
  /** What stopped the run: a write that failed here, or a worker that failed. */
  private error: unknown = null;
  private failure: ReadFailure | null = null;
  private sources: readonly InputSource[] = [];

  constructor(
    private readonly spool: ChunkSink,
    private readonly options: PipelineOptions,
    readonly counts: ShipCounts,
    private readonly threads: number,
  ) {}

  /** Reads every source, `threads` at a time; the same outcome as ShipPipeline.run. */
  async run(sources: readonly InputSource[]): Promise<ReadFailure | null> {
    this.sources = sources;
    const queue = [...sources];
    const threads = Math.min(this.threads, queue.length);
    await Promise.all(Array.from({ length: threads }, () => this.runWorker(queue)));
    this.counts.bytesRead = totalBytesRead(sources);
    if (this.error) throw this.error;
    return this.failure;
  }

  /** Stops reading: every worker leaves its file at once, after spooling what it has built. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const worker of this.workers) worker.postMessage({ type: 'stop' } satisfies ToWorker);
  }

  private fail(error: unknown): void {
    this.error ??= error;
    this.stop();
  }

  private jobFor(source: InputSource): FileJob {
    const { checkpoint } = this.options;
    const resume =
      checkpoint &&
      checkpoint.resumePoint(source.path!, { size: source.size ?? 0, ...(source.identity ? { identity: source.identity } : {}) });
    return { type: 'file', path: source.path!, ...(source.identity ? { identity: source.identity } : {}), resume };
  }

  /** One worker, through files from the queue until it is empty or the run stops. */
  private runWorker(queue: InputSource[]): Promise<void> {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: workerOptions(this.options) });
    this.workers.add(worker);
    const told: ReadingCounts = { ...Object.fromEntries(READING_COUNTS.map((k) => [k, 0])), invalidByCode: {} } as ReadingCounts;
    let current: InputSource | null = null;
    let ended = false;
    const send = (message: ToWorker, transfer: ArrayBuffer[] = []) => worker.postMessage(message, transfer);
    const next = () => {
      current = this.stopping ? null : (queue.shift() ?? null);
      if (current) return send(this.jobFor(current));
      ended = true;
      send({ type: 'end' });
    };
    const progress = (p: WorkerProgress) => {
      this.add(p.counts, told);
      current!.bytesRead = p.bytesRead;
      this.counts.bytesRead = totalBytesRead(this.sources);
    };
    worker.on('message', (m: FromWorker) => {
      try {
        this.handle(m, current!, progress, send, next);
      } catch (error) {
        this.fail(error);
      }
    });
    return new Promise((resolve) => {
      worker.on('error', (error) => this.fail(error));
      worker.on('exit', (code) => {
        this.workers.delete(worker);
        if (!ended) this.fail(new Error(`a reading worker stopped (exit code ${code}) before its file ${current?.name ?? ''} was read`));
        resolve();
      });
      next();
    });
  }

  private handle(
    m: FromWorker,
    source: InputSource,
    progress: (p: WorkerProgress) => void,
    send: (m: ToWorker, transfer?: ArrayBuffer[]) => void,
    next: () => void,
  ): void {
    const { options } = this;
    switch (m.type) {
      case 'append': {
        progress(m.progress);
        // Copied into this pool's memory, reused after the ack, and the worker's memory goes back
        // to it: memory that crossed threads would otherwise die old, freed only by a full
        // collection tens of MB later (measured: 70 MB more peak RSS with two workers).
        const body = asBuffer(m.entries);
        const entries = options.bodies ? options.bodies.copy(body, body.length) : body;
        const slab = options.bodies ? (m.entries.buffer as ArrayBuffer) : null;
        const chunk = { id: m.id, entries, count: m.count, compressed: m.compressed, retries: 0 };
        const reply = (ok: boolean) => send({ type: 'appended', seq: m.seq, ok, slab }, slab ? [slab] : []);
        this.spool.append(chunk).then(
          () => reply(true),
          (error: unknown) => {
            this.fail(error);
            reply(false);
          },
        );
        return;
      }
      case 'checkpoint':
        return options.checkpoint!.record(m.path, m.position, asIdentity(m.identity));
      case 'invalid':
        return options.onInvalid(m.source, { ...m.line, bytes: asBuffer(m.line.bytes) }, m.diagnostics);
      case 'note':
        return options.onNote(m.message);
      case 'mark':
        return send({ type: 'taken', mark: m.mark });
      case 'progress':
        return progress(m.progress);
      case 'done':
        progress(m.progress);
        source.exhausted = m.exhausted;
        if (m.failure) {
          this.failure ??= readFailure(m.failure, source);
          this.stop();
        }
        return next();
      case 'failed':
        progress(m.progress);
        this.fail(new Error(`a reading worker failed on ${source.name}: ${m.message}`));
        return next();
    }
  }

  /** Adds what a worker counted since it last told. */
  private add(now: ReadingCounts, told: ReadingCounts): void {
    const { counts } = this;
    for (const key of READING_COUNTS) {
      counts[key] += now[key] - told[key];
      told[key] = now[key];
    }
    for (const [code, n] of Object.entries(now.invalidByCode)) {
      counts.invalidByCode[code] = (counts.invalidByCode[code] ?? 0) + n - (told.invalidByCode[code] ?? 0);
      told.invalidByCode[code] = n;
    }
  }
}
