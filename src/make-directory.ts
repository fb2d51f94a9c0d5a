/**
 * `mkdir -p` that says why it failed. Node's recursive mkdir reports a read-only file system
 * (EROFS) as ENOENT, "no such file or directory": a pod whose --spool-dir lay outside its
 * writable volumes was told of a missing path, not of a read-only one.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Makes `path` and any missing parents; an error names the true cause (EROFS, EACCES, ENOTDIR…). */
export function makeDirectory(path: string, mode?: number): void {
  try {
    mkdirSync(path, { recursive: true, mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    // The first missing directory, made on its own, fails with the real reason; should it be made
    // after all (the cause went away), the rest is made as asked.
    mkdirSync(firstMissing(path), { mode });
    mkdirSync(path, { recursive: true, mode });
  }
}

/** The outermost directory of `path` that does not exist yet. */
function firstMissing(path: string): string {
  let dir = resolve(path);
  while (dirname(dir) !== dir && !existsSync(dirname(dir))) dir = dirname(dir);
  return dir;
}
