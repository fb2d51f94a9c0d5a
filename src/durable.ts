/**
 * Making a directory entry durable: after a file is created, renamed or removed, the directory
 * itself must be fsynced, or a power cut can lose a file that was reported written.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { close, fsync, open } from 'node:fs';

function ignorable(error: unknown): boolean {
  // Some file systems (and platforms) cannot fsync a directory; their entries are durable as they are.
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EINVAL' || code === 'EISDIR' || code === 'EPERM' || code === 'ENOTSUP';
}

export function fsyncDirSync(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (error) {
    if (ignorable(error)) return;
    throw error;
  }
  try {
    fsyncSync(fd);
  } catch (error) {
    if (!ignorable(error)) throw error;
  } finally {
    closeSync(fd);
  }
}

/** The same off the main thread, for the hot path (segments created and removed while shipping). */
export function fsyncDir(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    open(dir, 'r', (openError, fd) => {
      if (openError) return ignorable(openError) ? resolve() : reject(openError);
      fsync(fd, (syncError) => {
        close(fd, () => (syncError && !ignorable(syncError) ? reject(syncError) : resolve()));
      });
    });
  });
}
