/**
 * One process per spool directory. Two shippers appending to and deleting from the same segments
 * would lose or duplicate chunks, so the second one must fail at start with a clear error. The lock
 * is a file created exclusively that holds the owner's pid; a lock whose pid is gone (the owner
 * was killed) is taken over, so a SIGKILL never leaves the spool unusable.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SpoolError } from './errors.js';

export const LOCK_FILE = 'lock';
/**
 * Locks held by this process. A lock file naming our own pid is stale unless it is in here: in a
 * container the shipper is often pid 1 on every start, so the pid alone cannot tell.
 */
const held = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownerOf(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The pid written in a spool's lock file, or null when there is none (for `spool status`). */
export function lockOwner(dir: string): number | null {
  return ownerOf(join(dir, LOCK_FILE));
}

export class SpoolLock {
  private constructor(private readonly path: string) {}

  static acquire(dir: string): SpoolLock {
    const path = join(dir, LOCK_FILE);
    if (held.has(path)) throw new SpoolError(`the spool ${dir} is already in use by this process`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        held.add(path);
        return new SpoolLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new SpoolError(`cannot lock the spool ${dir}: ${(error as Error).message}`, { cause: error });
        }
      }
      const owner = ownerOf(path);
      if (owner !== null && owner !== process.pid && isAlive(owner)) {
        throw new SpoolError(`the spool ${dir} is in use by another audit-ship (pid ${owner}); give each one its own --spool-dir`);
      }
      unlinkSync(path); // the owner is gone: a stale lock
    }
    throw new SpoolError(`cannot lock the spool ${dir}: another process keeps taking the lock`);
  }

  release(): void {
    held.delete(this.path);
    try {
      if (ownerOf(this.path) === process.pid) unlinkSync(this.path);
    } catch {
      // Already gone: nothing to release.
    }
  }
}
