/**
 * How many threads read the inputs. Decided before the pipeline is built, so that a run with one
 * reader never loads the worker pipeline (src/ship/parallel.ts) or node:worker_threads.
 */
import { availableParallelism } from 'node:os';
import type { ShipOptions } from '../cli/ship-options.js';
import type { InputSource } from '../input/sources.js';

/** --workers by default: at most this many (each thread holds a heap, buffers and chunks of its own: about 27 MB). */
export const MAX_DEFAULT_WORKERS = 4;
/** What a worker thread holds of its own, for the note on more workers than cores (docs/ship.md). */
const WORKER_MB = 27;

/**
 * One core fewer than the machine has, at most 4: the main thread (spool, checksums, sockets) needs
 * a core of its own. On two cores one reader is the default: a second one, sharing the cores with
 * the main thread, took 25 to 45% more CPU for no more records/s (docs/performance.md).
 */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(availableParallelism() - 1, MAX_DEFAULT_WORKERS));
}

/** Whether an input can be read by a worker: a regular file, which the worker opens again by its path. */
export function readableInWorker(source: InputSource): boolean {
  return source.path !== null && source.size !== null && !source.live;
}

/**
 * Files are read by --workers threads at once (by default one per core, at most 4); stdin, a FIFO
 * or kubectl by one. --rate and --stdout need one reader: the limit and the output are one.
 */
export function readersFor(options: Pick<ShipOptions, 'rate' | 'stdout' | 'workers'>, sources: readonly InputSource[]): number {
  if (options.rate > 0 || options.stdout || !sources.every(readableInWorker)) return 1;
  return Math.min(options.workers ?? defaultWorkers(), sources.length);
}

/**
 * What a run with several readers says as it starts. More threads than cores only take turns on
 * them, each with memory of its own: `--workers 64` on two cores took 1 GB and shipped 7 times
 * slower than 2, which the note says before the run does.
 */
export function readersNote(readers: number, files: number): string {
  const cores = availableParallelism();
  const beyond =
    readers > cores ? `; more than this machine's ${cores} cores, so they take turns on them, each holding about ${WORKER_MB} MB` : '';
  return `audit-ship: reading ${files} files, ${readers} at a time (--workers${beyond})\n`;
}
