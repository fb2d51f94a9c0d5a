/** Where a file starts, by the checkpoint (src/ship/checkpoint.ts), for every reader alike. */
import { readIdentity, type FileIdentity, type InputSource } from '../input/sources.js';
import type { ResumePoint } from './checkpoint.js';
import type { CheckpointBook } from './spool-writer.js';

/**
 * Where the checkpoint has file `source` (at `path`) start, judged by the file as it is now: its
 * identity, with its first bytes read now (src/input/sources.ts, `readIdentity`), goes with it.
 * Every reader asks here (one reader, and the main thread and each worker with --workers), so the
 * bytes the run passes over are set here too (`source.skipped`).
 */
export async function resumeFrom(
  checkpoint: CheckpointBook,
  source: InputSource,
  path: string,
): Promise<{ identity: FileIdentity | undefined; point: ResumePoint }> {
  const identity = await readIdentity(source);
  const point = checkpoint.resumePoint(path, { size: source.size ?? 0, ...(identity ? { identity } : {}) });
  // A plain file is read from the offset (a .gz is decompressed from its start, and read).
  source.skipped = point.kind === 'done' ? (source.size ?? 0) : point.kind === 'resume' && source.growing ? point.offset : 0;
  return { identity, point };
}
