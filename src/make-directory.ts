/**
 * `mkdir -p` that says why it failed and always ends. Node's recursive mkdir reports a read-only
 * file system (EROFS) as ENOENT, "no such file or directory": a pod whose --spool-dir lay outside
 * its writable volumes was told of a missing path, not of a read-only one. Where a directory
 * exists but cannot hold the one asked for (a path under /proc) it tries the parent and the child
 * again for ever, at full CPU, deaf to Ctrl-C: `--spool-dir /proc/spool` never started and never
 * said why. A link to nothing in the path it calls "no such file"; here, "not a directory".
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Makes `path` and any missing parents (each with `mode`); an error names the true cause (EROFS, EACCES, ENOTDIR…). */
export function makeDirectory(path: string, mode?: number): void {
  const dir = resolve(path);
  const noParent = attempt(dir, mode);
  if (!noParent) return;
  const parent = dirname(dir);
  if (parent === dir) throw noParent;
  try {
    makeDirectory(parent, mode);
  } catch (error) {
    // A parent that is no directory (a file, a link to nothing) is said as the kernel says a file: ENOTDIR.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), {
      code: 'ENOTDIR',
      syscall: 'mkdir',
      path: dir,
      cause: error,
    });
  }
  // The parent is there now: a second "no such file" is final, never tried again.
  const still = attempt(dir, mode);
  if (still) throw still;
}

/** Makes `dir` alone: null once it is a directory, mkdir's ENOENT when it cannot be made for want of a parent; any other failure is thrown. */
function attempt(dir: string, mode: number | undefined): NodeJS.ErrnoException | null {
  try {
    mkdirSync(dir, { mode });
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && isDirectory(dir)) return null;
    if (code === 'ENOENT') return error as NodeJS.ErrnoException;
    throw error;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
