/**
 * Making a directory entry durable: after a file is created, renamed or removed, the directory
 * itself must be fsynced, or a power cut can lose a file that was reported written.
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { CheckpointError, describeSystemError } from './errors.js';
import { count } from './plural.js';
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

/**
 * Writes every byte or throws: a write may take fewer bytes than it was given (a file system
 * that fills up, `ulimit -f`), and the bytes it did not take are then retried, so that the
 * error that ends the loop (ENOSPC, EFBIG) is the one reported.
 */
export function writeAllSync(fd: number, data: string | Buffer): void {
  let bytes = typeof data === 'string' ? Buffer.from(data) : data;
  while (bytes.length > 0) bytes = bytes.subarray(progress(writeSync(fd, bytes)));
}

/**
 * Appends `data` whole or not at all: a write that fails part-way (a full disk) is cut off again,
 * so that a file of lines never ends in half a line. Rethrows the write's error.
 */
export function appendWholeSync(fd: number, data: string | Buffer): void {
  const before = fstatSync(fd).size;
  try {
    writeAllSync(fd, data);
  } catch (error) {
    try {
      ftruncateSync(fd, before);
    } catch {
      // The torn tail stays; the error below still reports the write.
    }
    throw error;
  }
}

/** The same for gathered buffers on a FileHandle; resolves with the bytes written (all of them). */
export async function writevAll(handle: FileHandle, buffers: readonly Buffer[]): Promise<number> {
  let rest = buffers.filter((b) => b.length > 0);
  let total = 0;
  while (rest.length > 0) {
    const bytesWritten = progress((await handle.writev(rest)).bytesWritten);
    total += bytesWritten;
    rest = skipBytes(rest, bytesWritten);
  }
  return total;
}

/** A write that takes nothing and reports no error would loop for ever: it is an I/O error. */
function progress(written: number): number {
  if (written > 0) return written;
  throw Object.assign(new Error('the write took no bytes'), { code: 'EIO' });
}

function skipBytes(buffers: readonly Buffer[], count: number): Buffer[] {
  let left = count;
  const out: Buffer[] = [];
  for (const b of buffers) {
    if (left >= b.length) {
      left -= b.length;
      continue;
    }
    out.push(left > 0 ? b.subarray(left) : b);
    left = 0;
  }
  return out;
}

/** Errors that mean "no room now" (full disk, quota, file size limit): the same write may succeed later. */
export function isSpaceError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG';
}

/**
 * A JSON state file of ours (`{version: 1, FIELD: {...}}`), or `empty` when there is none yet.
 * `what` names it in errors ("the checkpoint"), `kind` says what it is not when it is foreign.
 */
export function readStateFile<T extends { version: 1 }>(path: string, what: string, kind: string, empty: T, field: keyof T): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return empty;
    throw new CheckpointError(`cannot read ${what} ${path}: ${describeSystemError(error)}`, { cause: error });
  }
  const over = 'remove it to start over, which reads every input again from its start';
  // Empty, or zeros alone: a crash before the data reached the disk (or a file made by hand).
  if (/^\0*$/.test(text)) {
    const held = text.length === 0 ? 'is empty' : `holds ${count(text.length, 'NUL byte')} and nothing else`;
    throw new CheckpointError(`${what} ${path} ${held} (cut or zeroed by a crash?); ${over}`);
  }
  try {
    const state = JSON.parse(text) as T;
    if (state.version !== 1 || typeof state[field] !== 'object' || state[field] === null) throw new Error('unknown layout');
    return state;
  } catch (error) {
    // JSON.parse quotes the text it failed on: control bytes in it would reach the terminal raw.
    const reason = (error as Error).message.replace(/\p{Cc}/gu, '?');
    throw new CheckpointError(`${what} ${path} is not an audit-ship ${kind} (${reason}); ${over}`);
  }
}
