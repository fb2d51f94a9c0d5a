/**
 * Making a directory entry durable: after a file is created, renamed or removed, the directory
 * itself must be fsynced, or a power cut can lose a file that was reported written.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

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
export async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(dir, 'r');
  } catch (error) {
    if (ignorable(error)) return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!ignorable(error)) throw error;
  } finally {
    await handle.close();
  }
}
