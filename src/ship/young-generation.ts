/**
 * Keeps V8's young generation at the size it starts with (1 MB semi-spaces) for the life of the
 * process. `bin/audit-ship.js` calls holdYoungGeneration() before it loads anything else: loading
 * the CLI's modules alone grows the young generation from 1 to 8 MB, and a hold set after that
 * keeps it there.
 *
 * Under a steady allocation rate V8 doubles the semi-spaces up to 16 MB each, and the RSS steps up
 * with them for good, seconds into a long backfill. Fewer, larger scavenges also leave more freed
 * input memory waiting for collection: a `.gz` backfill's gunzip output is fresh memory for every
 * chunk, freed only when the objects that held it are collected, and its peak RSS was 100 MB with
 * the young generation grown against 85 MB without. The largest size can only be set when node
 * starts (`--max-semi-space-size`), but the factor V8 grows by is read each time it grows, so
 * setting it to 1 holds the young generation where it is, for about 2% more CPU
 * (docs/performance.md). The factor cannot be given on node's command line instead: V8 raises a
 * value under 2 to 2 as it sets up the heap. A user's own young-generation flag is left to do what
 * it says.
 */
import v8 from 'node:v8';
import type { ResourceLimits } from 'node:worker_threads';

const YOUNG_GENERATION_FLAG = /--(?:max|min)[-_]semi[-_]space[-_]size|--semi[-_]space[-_]growth[-_]factor/;

/**
 * A worker thread's young generation, in MB: as small as the main thread's held one. The flag above
 * does not reach a worker's heap, and with `--workers 2` each worker's gunzip output waited for
 * rarer scavenges: 176–177 MB peak against 128 MB with this limit, at the same speed.
 */
const WORKER_YOUNG_GENERATION_MB = 2;

/** Whether node was given a young-generation flag of its own, on its command line or in NODE_OPTIONS. */
function ownFlag(execArgv: readonly string[], nodeOptions: string): boolean {
  return YOUNG_GENERATION_FLAG.test(`${execArgv.join(' ')} ${nodeOptions}`);
}

/** Holds the young generation at its starting size; false (and nothing changed) when node was given a flag of its own for it. */
export function holdYoungGeneration(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  if (ownFlag(execArgv, nodeOptions)) return false;
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  return true;
}

/** The resource limits a reading worker is started with: none when node was given a young-generation flag of its own. */
export function workerResourceLimits(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): ResourceLimits | undefined {
  return ownFlag(execArgv, nodeOptions) ? undefined : { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB };
}
