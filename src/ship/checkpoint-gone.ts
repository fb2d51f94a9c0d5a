/**
 * Which checkpoint entries stand for files that are gone. A cron job over a directory of rotated
 * logs records every file it ships, and rotation deletes the oldest: without forgetting them the
 * checkpoint grew by an entry for every file ever shipped, read at each start and rewritten whole
 * at each replace.
 *
 * A file is gone when nothing is at its name and its directory is still there, on the device the
 * file was on: a directory that is missing or on another device (a volume not mounted, a share
 * down) says nothing about the file, and its entry is kept. Entries without a device (written by
 * an older audit-ship) are kept too. A file renamed rather than deleted (FILE to FILE.1) is found
 * by its device and inode while this run's inputs are opened, so only entries no input of the run
 * turned out to be are asked about (`Checkpoint.forgetGone`).
 */
import { lstatSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Checkpoint, FileProgress } from './checkpoint.js';
import { count } from '../plural.js';

/** `stat` of `path`, or null when nothing is there; other errors (no permission) are thrown. */
function statOrNull(path: string, link: boolean): { dev: number } | null {
  try {
    return link ? lstatSync(path) : statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw error;
  }
}

/** Whether the file the entry `name` stands for is gone (see above); false when that cannot be told. */
export function isGone(name: string, progress: FileProgress, directories: Map<string, number | null>): boolean {
  if (progress.dev === undefined) return false;
  try {
    if (statOrNull(name, true) !== null) return false;
    const directory = dirname(name);
    let dev = directories.get(directory);
    if (dev === undefined) directories.set(directory, (dev = statOrNull(directory, false)?.dev ?? null));
    return dev === progress.dev;
  } catch {
    return false;
  }
}

/** What to tell of the entries forgotten: each file that went before it was shipped to its end, then how many. */
export function goneNotes(gone: readonly [string, FileProgress][]): { unread: string[]; forgot: string | null } {
  return {
    unread: gone
      .filter(([, p]) => !p.done)
      .map(([name, p]) => `${name} is gone, shipped only to line ${p.line} (byte ${p.offset} of ${p.size}): the rest of it was never read`),
    forgot: gone.length > 0 ? `forgot ${count(gone.length, 'file')} no longer on disk` : null,
  };
}

/**
 * Drops the checkpoint's entries of files since deleted (a cron job over rotated logs), once every
 * input was read, and names any that went before they were shipped to their end: their remaining
 * lines can no longer be read.
 */
export function forgetGoneFiles(checkpoint: Checkpoint, note: (text: string) => void, info: (text: string) => void): void {
  const gone = goneNotes(checkpoint.forgetGone());
  for (const unread of gone.unread) note(`audit-ship: checkpoint: ${unread}\n`);
  if (gone.forgot) info(`audit-ship: checkpoint: ${gone.forgot}\n`);
}
