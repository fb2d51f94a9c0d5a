/**
 * A reading worker (--workers): reads, decompresses, validates and encodes one job of files at a
 * time in a thread of its own, through the same ShipPipeline as a single reader. Its chunks, checkpoint
 * positions, invalid lines and notes go to the main thread (src/ship/parallel.ts), which owns the
 * spool, the checkpoint file and the senders. A chunk counts as spooled, and its lines as passed,
 * only once the main thread has written it: the same order of events as in one thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InputError, InputReadError, NotTextError } from '../errors.js';
import { ChunkBufferPool, chunkSlabBytes } from '../forward/buffer-pool.js';
import type { Chunk } from '../forward/chunk.js';
import { notOpenedAtItsTurn } from '../input/file-io.js';
import { openFileSource, type InputSource } from '../input/sources.js';
import { emptyCounts } from './counts.js';
import { collectOldGeneration } from './old-generation.js';
import { ShipPipeline, type ReadFailure } from './pipeline.js';
import type { CheckpointBook } from './spool-writer.js';
import {
  asIdentity,
  wireLine,
  type FileJob,
  type FilesJob,
  type FromWorker,
  type JobFailure,
  type ToWorker,
  type WireReadFailure,
  type WorkerOptions,
  type WorkerProgress,
} from './worker-messages.js';

/** How often a worker tells its counts while it reads: the progress line and the metrics follow them. */
const PROGRESS_MS = 500;
/** Invalid lines sent before the worker waits for the main thread to have handled them. */
const INVALID_IN_FLIGHT = 1024;

const port = parentPort!;
const options = workerData as WorkerOptions;
const counts = emptyCounts();
/** Chunk bodies: each one moves to the main thread, which copies it and sends the memory back. */
const bodies = new ChunkBufferPool(chunkSlabBytes(options.chunkLimits.maxBytes), 4);
const appends = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
let seq = 0;
/** The files of the current job, each in its place; null for one that could not be opened. */
let slots: (InputSource | null)[] = [];
let pipeline: ShipPipeline | null = null;
let stopping = false;
/** Invalid lines sent since the last mark, and the mark the worker waits on. */
let unmarked = 0;
let marks = 0;
let taken: (() => void) | null = null;

const progress = (): WorkerProgress => ({ counts, bytesRead: slots.map((s) => s?.bytesRead ?? 0) });
const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/** The main thread's spool: a chunk is appended once the main thread says it wrote it. */
const sink = {
  append(chunk: Chunk): Promise<void> {
    const n = ++seq;
    const { entries } = chunk;
    // A body with memory of its own (a slab, a gzipped body) moves to the main thread without a
    // copy; one in memory shared with other Buffers is copied.
    const own =
      entries.byteOffset === 0 && (entries.buffer.byteLength === bodies.slabBytes || entries.buffer.byteLength === entries.byteLength);
    const body = own ? entries : new Uint8Array(entries);
    const message: FromWorker = {
      type: 'append',
      seq: n,
      id: chunk.id,
      entries: body,
      count: chunk.count,
      compressed: chunk.compressed,
      progress: progress(),
    };
    return new Promise((resolve, reject) => {
      appends.set(n, { resolve, reject });
      post(message, [body.buffer as ArrayBuffer]);
    });
  },
};

/**
 * After a batch of lines: once many invalid lines were sent, waits for the main thread to have
 * handled them (a file of nothing but invalid records would otherwise queue them all in memory).
 */
function pace(): Promise<void> | null {
  if (unmarked < INVALID_IN_FLIGHT) return null;
  unmarked = 0;
  post({ type: 'mark', mark: ++marks });
  return new Promise((resolve) => (taken = resolve));
}

/**
 * The main thread's checkpoint: it chose where each file starts; positions go back to it. The
 * pipeline asks once for each file, in the job's order.
 */
function checkpointFor(files: FileJob[]): CheckpointBook | null {
  if (files[0]!.resume === null) return null;
  let next = 0;
  return {
    resumePoint: (path) => {
      const file = files[next++];
      if (file?.path !== path || file.resume === null) throw new Error(`asked where ${path} starts out of turn`);
      return file.resume;
    },
    record: (path, position, mark) => post({ type: 'checkpoint', path, position, ...(mark ? { mark } : {}) }),
  };
}

function wireFailure({ error, linesRead }: Pick<ReadFailure, 'error' | 'linesRead'>): WireReadFailure {
  return error instanceof InputReadError
    ? { kind: 'read', source: error.source, detail: error.detail, inputOffset: error.inputOffset, linesRead }
    : { kind: 'not-text', source: error.source, reason: error.reason, linesRead };
}

/** A file of the job, opened again at its turn (with calls that block: this thread only reads): the file the main thread checked, or one rotated in between is refused when it is read. */
async function open(file: FileJob): Promise<InputSource> {
  let opened: InputSource;
  try {
    opened = await openFileSource(file.path, true);
  } catch (error) {
    // The file was there when the main thread looked: said as a single reader says it.
    if (error instanceof InputError && !(error instanceof NotTextError)) throw notOpenedAtItsTurn(file.path, error.cause);
    throw error;
  }
  const identity = asIdentity(file.identity);
  if (identity) opened.identity = identity;
  return opened;
}

/** Why a file could not be read, or null for an error that is not about the file. */
function fileFailure(error: unknown): WireReadFailure | null {
  return error instanceof InputReadError || error instanceof NotTextError ? wireFailure({ error, linesRead: 0 }) : null;
}

function pipelineFor(files: FileJob[]): ShipPipeline {
  return new ShipPipeline(
    sink,
    {
      ...options,
      bodies,
      rate: null,
      writer: null,
      checkpoint: checkpointFor(files),
      onNote: (message) => post({ type: 'note', message }),
      onInvalid: (name, line, diagnostics) => {
        unmarked++;
        post({ type: 'invalid', source: name, line: wireLine(line), diagnostics });
      },
      pace,
    },
    counts,
  );
}

/**
 * Opens the job's files; one that cannot be opened (deleted or replaced since the main thread
 * looked) fails alone, as a file failing partway does: the job's other files are still read.
 */
async function openAll(job: FilesJob): Promise<JobFailure[]> {
  const failures: JobFailure[] = [];
  slots = [];
  for (const file of job.files) {
    try {
      slots.push(await open(file));
    } catch (error) {
      const why = fileFailure(error);
      if (!why) throw error;
      failures.push({ file: slots.length, why });
      slots.push(null);
    }
  }
  return failures;
}

async function ship(job: FilesJob): Promise<void> {
  let failures: JobFailure[] = [];
  try {
    failures = await openAll(job);
    const opened = slots.flatMap((s) => (s ? [s] : []));
    if (opened.length > 0) {
      pipeline = pipelineFor(job.files.filter((_, i) => slots[i]));
      if (stopping) pipeline.stop();
      for (const read of await pipeline.run(opened)) failures.push({ file: slots.indexOf(read.source), why: wireFailure(read) });
    }
  } catch (error) {
    const why = fileFailure(error);
    if (!why) {
      post({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error), progress: progress() });
      return;
    }
    // Not from one file's reading (those are returned): told of the first file not read to its end.
    failures.push({
      file: Math.max(
        0,
        slots.findIndex((s) => s && !s.exhausted),
      ),
      why,
    });
  } finally {
    // No progress is told of a job once it is done or failed: the main thread has moved on.
    pipeline = null;
  }
  failures.sort((a, b) => a.file - b.file);
  post({ type: 'done', progress: progress(), exhausted: slots.map((s) => s?.exhausted ?? false), failures });
}

const ticker = setInterval(() => pipeline && post({ type: 'progress', progress: progress() }), PROGRESS_MS);
// A worker's heap has an old generation of its own, which fills with the same garbage.
const stopCollecting = collectOldGeneration(() => counts.lines);

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'files':
      void ship(message);
      break;
    case 'appended': {
      const pending = appends.get(message.seq)!;
      appends.delete(message.seq);
      if (message.slab) bodies.adopt(message.slab);
      if (message.ok) pending.resolve();
      else pending.reject(new Error('the main thread could not write the chunk to the spool'));
      break;
    }
    case 'taken':
      if (message.mark === marks) taken?.();
      break;
    case 'stop':
      stopping = true;
      pipeline?.stop();
      // A wait for the main thread to take the invalid lines ends too: reading stops anyway.
      taken?.();
      break;
    case 'end':
      clearInterval(ticker);
      stopCollecting();
      port.close();
      break;
  }
});
