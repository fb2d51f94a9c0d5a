/**
 * What a run opens before the first byte of input is read: the inputs, the checkpoint, the
 * dead-letter file, the chunk slabs and the spool. Every check that can fail does so here, and
 * what was opened before a failure is closed again.
 */
import type { ShipOptions } from '../cli/ship-options.js';
import { ChunkBufferPool, chunkSlabBytes } from '../forward/buffer-pool.js';
import type { InputSource } from '../input/sources.js';
import { Spool } from '../spool/spool.js';
import { Checkpoint } from './checkpoint.js';
import { runWindow } from './checkpoint-window.js';
import { DeadLetterFile } from './dead-letter.js';
import { openInputs } from './inputs.js';
import type { ParallelPipeline } from './parallel.js';
import { readersFor } from './readers.js';
import { checkpointFullWait, deadLetterFullWait, fullDiskLimitMs, type Note } from './run-watch.js';

export interface RunParts {
  sources: InputSource[];
  /** Threads reading the inputs at once (src/ship/readers.ts). */
  readers: number;
  /** The worker pipeline, loaded when more than one thread reads. */
  parallel: typeof ParallelPipeline | null;
  checkpoint: Checkpoint | null;
  deadLetter: DeadLetterFile | null;
  bodies: ChunkBufferPool;
  spool: Spool;
  /** How long a write waits out a full disk (fullDiskLimitMs): the spool's, the checkpoint's and the dead letters' alike. */
  fullDiskLimitMs: number;
}

export async function openRunParts(files: string[], options: ShipOptions, note: Note): Promise<RunParts> {
  let deadLetter: DeadLetterFile | null = null;
  // Positions are saved only once the invalid lines they passed are in the --dead-letter file.
  const lettersKept = () => deadLetter?.kept() ?? null;
  const sources = await openInputs(files, options, note, lettersKept);
  const readers = readersFor(options, sources);
  const fullLimitMs = fullDiskLimitMs(options.retryTimeout, sources);
  // Worker threads only for more than one reader: one reader does without their modules.
  const parallel = readers > 1 ? (await import('./parallel.js')).ParallelPipeline : null;
  const checkpoint =
    options.checkpoint === undefined
      ? null
      : await Checkpoint.load(options.checkpoint, runWindow(options.since, options.until), checkpointFullWait(fullLimitMs, note));
  checkpoint?.writeAfter(lettersKept);
  try {
    deadLetter = options.deadLetter === undefined ? null : DeadLetterFile.open(options.deadLetter, deadLetterFullWait(fullLimitMs, note));
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
    return { sources, readers, parallel, checkpoint, deadLetter, bodies, spool, fullDiskLimitMs: fullLimitMs };
  } catch (error) {
    await checkpoint?.close();
    deadLetter?.close();
    throw error;
  }
}
