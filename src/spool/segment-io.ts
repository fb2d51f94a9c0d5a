/**
 * The file operations on one segment, each turning a system error into a SpoolError that names
 * the spool: create, append a frame, seal, read a chunk's entries back, note an ack, remove.
 */
import { appendFileSync, unlinkSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ChunkBufferPool } from '../forward/buffer-pool.js';
import type { Chunk } from '../forward/chunk.js';
import { fsyncDir, writevAll } from '../durable.js';
import { describeSystemError } from '../errors.js';
import { SpoolError, SpoolWriteError } from './errors.js';
import { encodeFrameHead, frameIntact } from './format.js';
import { ACKS_SUFFIX } from './segments.js';

/** Creates a segment, and makes its name durable before any chunk in it is reported spooled. */
export async function createSegmentFile(path: string, dir: string): Promise<FileHandle> {
  let handle: FileHandle | null = null;
  try {
    handle = await open(path, 'wx', 0o600);
    await fsyncDir(dir);
    return handle;
  } catch (error) {
    await handle?.close().catch(() => {});
    const errno = (error as NodeJS.ErrnoException).code ?? null;
    throw new SpoolWriteError(`cannot write to the spool ${dir}: ${describeSystemError(error)}`, errno, { cause: error });
  }
}

/**
 * Appends a frame at `offset`, the segment's durable length, retrying short writes. If it cannot
 * all be written, what was written of it is cut off again (best effort: a torn tail is set aside
 * on recovery anyway) and the error names the segment and the errno; the caller then starts a
 * new segment, so no later frame lies at an offset that a failed write moved.
 */
export async function appendFrame(handle: FileHandle, path: string, offset: number, chunk: Chunk, sync: boolean): Promise<void> {
  try {
    await writevAll(handle, [encodeFrameHead(chunk), chunk.entries]);
    if (sync) await handle.datasync();
  } catch (error) {
    await handle.truncate(offset).catch(() => {});
    const errno = (error as NodeJS.ErrnoException).code ?? null;
    throw new SpoolWriteError(`cannot write to the spool segment ${path}: ${describeSystemError(error)}`, errno, { cause: error });
  }
}

/** Closes a segment that takes no more frames; errors are moot once every frame is written. */
export async function sealSegmentFile(handle: FileHandle, sync: boolean): Promise<void> {
  if (sync) await handle.datasync().catch(() => {});
  await handle.close().catch(() => {});
}

/** Fills `buffer` from `position` on, read after read (a network file system may give less at a time); false at the file's end. */
async function readFully(handle: FileHandle, buffer: Buffer, position: number): Promise<boolean> {
  for (let at = 0; at < buffer.length;) {
    const { bytesRead } = await handle.read(buffer, at, buffer.length - at, position + at);
    if (bytesRead === 0) return false;
    at += bytesRead;
  }
  return true;
}

/**
 * A chunk's entries, read back from its segment with the rest of its frame (`headBytes` before
 * them) and checked against the frame's checksum: `gone` when the segment file is, `damaged` when
 * the frame no longer holds what was written (changed or cut short under the run).
 */
export async function readEntries(
  path: string,
  offset: number,
  length: number,
  headBytes: number,
  pool: ChunkBufferPool | null,
): Promise<Buffer | 'gone' | 'damaged'> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw new SpoolError(`cannot read the spool segment ${path}: ${describeSystemError(error)}`, { cause: error });
  }
  const head = Buffer.allocUnsafe(headBytes);
  const body = pool ? pool.take(length) : Buffer.allocUnsafe(length);
  try {
    const whole = (await readFully(handle, head, offset - headBytes)) && (await readFully(handle, body, offset));
    if (whole && frameIntact(head, body)) return body;
    pool?.recycle(body);
    return 'damaged';
  } catch (error) {
    pool?.recycle(body);
    throw new SpoolError(`cannot read the spool segment ${path}: ${describeSystemError(error)}`, { cause: error });
  } finally {
    await handle.close();
  }
}

/** Notes an ack beside the segment; not fsynced: losing it costs a duplicate, not a record. */
export function markAcked(path: string, id: string): void {
  try {
    appendFileSync(`${path}${ACKS_SUFFIX}`, Buffer.from(id, 'base64'), { mode: 0o600 });
  } catch {
    // The chunk would be sent again after a restart: at least once still holds.
  }
}

function removalError(file: string, error: unknown): SpoolError | null {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
  return new SpoolError(`cannot delete ${file}: ${describeSystemError(error)}`, { cause: error });
}

/** Removes a segment and its acks at once: for recovery, before anything else runs. */
export function removeSegmentFiles(path: string): void {
  for (const file of [path, `${path}${ACKS_SUFFIX}`]) {
    try {
      unlinkSync(file);
    } catch (error) {
      const failure = removalError(file, error);
      if (failure) throw failure;
    }
  }
}

/**
 * Removes an acked segment off the main thread: freeing megabytes of blocks took a few
 * milliseconds per segment, on the thread that reads and encodes.
 */
export async function unlinkSegmentFiles(path: string): Promise<void> {
  for (const file of [path, `${path}${ACKS_SUFFIX}`]) {
    try {
      await unlink(file);
    } catch (error) {
      const failure = removalError(file, error);
      if (failure) throw failure;
    }
  }
  try {
    await fsyncDir(dirname(path));
  } catch (error) {
    // The directory itself was deleted, by something else: nothing is left to make durable.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new SpoolError(`cannot delete ${path}: ${describeSystemError(error)}`, { cause: error });
  }
}
