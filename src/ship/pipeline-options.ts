/**
 * A run's options as its pipeline takes them: the CLI's choices, the parts the run opened (the
 * chunk bodies, the checkpoint, the dead-letter file) and the counts that the invalid lines and
 * the records written to stdout add to.
 */
import type { ShipOptions } from '../cli/ship-options.js';
import type { ChunkBufferPool } from '../forward/buffer-pool.js';
import type { Checkpoint } from './checkpoint.js';
import type { ShipCounts } from './counts.js';
import type { DeadLetterFile } from './dead-letter.js';
import type { PipelineOptions } from './pipeline.js';
import { printable } from '../printable.js';
import { RateLimiter } from './rate.js';

/** The pipeline's parts that the CLI makes: how invalid lines are told, stdout's writer, the gzip level. */
export type PipelineHooks = Pick<PipelineOptions, 'onInvalid' | 'writer' | 'gzipLevel'>;

/** The pipeline's parts that the run opened or keeps (src/ship/run-parts.ts opens them). */
export interface PipelineParts {
  counts: ShipCounts;
  bodies: ChunkBufferPool;
  checkpoint: Checkpoint | null;
  deadLetter: DeadLetterFile | null;
  note: (text: string) => void;
}

export function pipelineOptions(options: ShipOptions, hooks: PipelineHooks, parts: PipelineParts): PipelineOptions {
  const { counts, deadLetter, note } = parts;
  deadLetter?.onKept((withoutText) => {
    counts.deadLettered++;
    if (withoutText) counts.deadLetteredWithoutText++;
  });
  const writer = hooks.writer;
  return {
    classify: { mixed: true, strict: options.strict },
    maxLineBytes: options.maxLineBytes,
    chunkLimits: { maxRecords: options.chunkRecords, maxBytes: options.chunkBytes },
    gzipLevel: hooks.gzipLevel,
    bodies: parts.bodies,
    flushIntervalMs: options.flushInterval,
    timeSource: options.timeSource,
    since: options.since ?? null,
    until: options.until ?? null,
    rate: options.rate > 0 ? new RateLimiter(options.rate) : null,
    checkpoint: parts.checkpoint,
    kubernetesMetadata: options.kubernetesMetadata,
    onInvalid: (file, line, diagnostics) => {
      // Said first: a note that its letter waits for disk room, or fails, then follows the line.
      hooks.onInvalid(file, line, diagnostics);
      deadLetter?.write(file, line, diagnostics);
    },
    // Letters waiting for disk room hold reading back, batch by batch (src/ship/dead-letter.ts).
    ...(deadLetter ? { pace: () => deadLetter.kept() } : {}),
    writer: writer && {
      write: (json) => {
        writer.write(json);
        counts.recordsWritten++;
      },
      flush: () => writer.flush(),
    },
    // A note names a file, which may hold any byte but a slash (src/printable.ts).
    onNote: (message) => note(`audit-ship: ${printable(message)}\n`),
  };
}
