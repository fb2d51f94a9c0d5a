/**
 * What the main thread and a reading worker (src/ship/parallel.ts, src/ship/worker.ts) say to
 * each other. Everything here crosses a thread by structured clone: a Buffer arrives as a plain
 * Uint8Array, and `asBuffer` makes it a Buffer again without a copy.
 */
import type { Diagnostic } from '../schema/diagnostic.js';
import type { FileId, FileIdentity } from '../input/sources.js';
import type { Line } from '../input/lines.js';
import type { FileMark, FileProgress, ResumePoint } from './checkpoint.js';
import type { ShipCounts } from './counts.js';
import type { PipelineOptions } from './pipeline.js';

/** The pipeline options a worker is started with: those that are data, not callbacks or shared state. */
export type WorkerOptions = Pick<
  PipelineOptions,
  'classify' | 'maxLineBytes' | 'chunkLimits' | 'gzipLevel' | 'flushIntervalMs' | 'timeSource' | 'since' | 'until' | 'kubernetesMetadata'
>;

/** The counts a reading pipeline keeps; the rest (sent, acked, dead-lettered) are the main thread's. */
export const READING_COUNTS = [
  'lines',
  'valid',
  'invalid',
  'skipped',
  'blank',
  'duplicates',
  'filtered',
  'chunksSpooled',
  'recordsSpooled',
  'recordsNotSpooled',
  'filesAlreadyShipped',
] as const satisfies readonly (keyof ShipCounts)[];

export type ReadingCounts = Pick<ShipCounts, (typeof READING_COUNTS)[number] | 'invalidByCode'>;

/** A worker's counts so far (over every file it read) and the bytes read of each file of its current job. */
export interface WorkerProgress {
  counts: ReadingCounts;
  bytesRead: number[];
}

/** A file of a job: its identity (with its first bytes, for --checkpoint) and where to start, both as the main thread found them. */
export interface FileJob {
  path: string;
  identity?: FileId | FileIdentity;
  /** From the checkpoint, or null without one. */
  resume: ResumePoint | null;
}

/**
 * Files a worker reads one after another through one pipeline, so that a file's last records
 * share a chunk with the next file's, as with one reader: many small files make full chunks, and
 * the worker waits for the spool once a job, not once a file.
 */
export interface FilesJob {
  type: 'files';
  files: FileJob[];
}

/** The file of a job (its place in `files`) that could not be read, and why. */
export interface JobFailure {
  file: number;
  why: WireReadFailure;
}

/** `taken`: every message the worker sent before its `mark` of this number has been handled. */
export type ToWorker =
  | FilesJob
  | { type: 'appended'; seq: number; ok: boolean; slab: ArrayBuffer | null }
  | { type: 'taken'; mark: number }
  | { type: 'stop' }
  | { type: 'end' };

/** Why a file stopped being read: what the main thread needs to rebuild the error. */
export type WireReadFailure =
  | { kind: 'read'; source: string; detail: string; inputOffset: number; linesRead: number }
  | { kind: 'not-text'; source: string; reason: string; linesRead: number };

export type FromWorker =
  | { type: 'append'; seq: number; id: string; entries: Uint8Array; count: number; compressed: boolean; progress: WorkerProgress }
  | { type: 'checkpoint'; path: string; position: FileProgress; mark?: FileMark }
  | { type: 'invalid'; source: string; line: Line; diagnostics: Diagnostic[] }
  | { type: 'note'; message: string }
  | { type: 'mark'; mark: number }
  | { type: 'progress'; progress: WorkerProgress }
  | { type: 'done'; progress: WorkerProgress; exhausted: boolean[]; failures: JobFailure[] }
  | { type: 'failed'; message: string; progress: WorkerProgress };

/** A Buffer over the same memory as a cloned Uint8Array. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * An invalid line as a worker posts it: plain data, its bytes copied into memory of their own.
 * Posting a view posts all the memory under it, the whole chunk the line was read in.
 */
export function wireLine(line: Line): Line {
  const { number, overLimit, end } = line;
  const bytes = asBuffer(new Uint8Array(line.bytes));
  return line.unterminated ? { number, bytes, overLimit, end, unterminated: true } : { number, bytes, overLimit, end };
}

/** A file identity as it arrives from another thread. */
export function asIdentity<T extends FileId | FileIdentity>(identity: T | undefined): T | undefined {
  return identity && 'head' in identity ? { ...identity, head: asBuffer(identity.head) } : identity;
}
