/**
 * A regular file's bytes: its first ones (which file it is, what it holds) and its content, read
 * in turns. At a file's turn it is opened, checked and closed with calls that block, which cost a
 * few µs where a round trip to the thread pool cost about 50 µs of CPU (docs/performance.md); its
 * reads stay in the pool, so that a file not in the page cache is read from the disk while the
 * chunk before is worked on.
 */
import { closeSync, fstatSync, openSync, read, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { describeSystemError, InputReadError } from '../errors.js';
import { count } from '../plural.js';
import { readInTurns } from './decode.js';
import { SNIFF_BYTES } from './sniff.js';
import type { FileIdentity, InputSource } from './sources.js';

/** The device, inode and first bytes (up to SNIFF_BYTES) of the regular file at `path`. */
export async function readHead(path: string): Promise<FileIdentity> {
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    const head = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(head, 0, SNIFF_BYTES, 0);
    return { dev: info.dev, ino: info.ino, head: head.subarray(0, bytesRead) };
  } finally {
    await handle.close();
  }
}

/** The same as readHead, in calls that block: at a file's turn, and while they prove quick (openSources). */
export function readHeadNow(path: string): FileIdentity {
  const fd = openSync(path, 'r');
  try {
    const info = fstatSync(fd);
    const head = Buffer.alloc(SNIFF_BYTES);
    const bytesRead = readSync(fd, head, 0, SNIFF_BYTES, 0);
    return { dev: info.dev, ino: info.ino, head: head.subarray(0, bytesRead) };
  } finally {
    closeSync(fd);
  }
}

/**
 * A file there when the run started that cannot be opened at its turn: deleted or rotated away
 * since (a backfill over a log directory that logrotate or a cleanup job works on), or its rights
 * changed. It fails alone; the run's other files are read.
 */
export function notOpenedAtItsTurn(name: string, error: unknown): InputReadError {
  const why = describeSystemError(error);
  const detail =
    (error as NodeJS.ErrnoException)?.code === 'ENOENT'
      ? `was deleted or renamed after the run started (${why})`
      : `could not be opened at its turn (${why})`;
  return new InputReadError(name, detail, 0, { cause: error });
}

/**
 * At what looks like the file's end: whether the file was cut under the read, below where it was
 * read (`position`, when known) or below its size when opened, as a copytruncate rotation does
 * while a backfill reads the live file. Its end was then not reached, only lost from this name (the
 * rotation's copy holds it), and "read to its end" would hide that. Files that say they are empty
 * (/proc's) are not judged.
 */
export function refuseCut(fd: number, name: string, position: number | null, sizeAtOpen: number): void {
  if (sizeAtOpen === 0) return;
  const size = fstatSync(fd).size;
  if (size >= (position ?? 0) && size >= sizeAtOpen) return;
  const where = position === null ? '' : `, at byte ${position} of ${sizeAtOpen}`;
  throw new InputReadError(
    name,
    `was cut to ${count(size, 'byte')} while it was read${where} (a copytruncate rotation?): what followed was not read, and a rotation's copy holds it`,
    0,
  );
}

/** Reads into `into` from `position`; the number of bytes read, 0 at the end. */
function readAt(fd: number, into: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, into, 0, into.length, position, (error, n) => (error ? reject(error) : resolve(n))));
}

/**
 * A regular file's bytes from `start` (on disk: compressed for gzip), read in turns into two
 * buffers. The file is opened at its turn and must still be the one checked when the run started: a file
 * rotated away since and replaced under its name is refused, not read as if it were the first
 * (with --checkpoint, the first's position would be recorded for the other's lines). A backfill of
 * 400 small files spent 0.2 ms of CPU a file opening, checking and closing it through the pool.
 */
export async function* readRegularFile(source: InputSource, path: string, start: number): AsyncGenerator<Buffer> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw notOpenedAtItsTurn(source.name, error);
  }
  try {
    const info = fstatSync(fd);
    if (source.identity && (info.dev !== source.identity.dev || info.ino !== source.identity.ino)) {
      throw new InputReadError(
        source.name,
        'was replaced by another file (rotated?) after the run started; run again to read the new one',
        0,
      );
    }
    let position = start;
    const read = async (into: Buffer) => {
      const bytesRead = await readAt(fd, into, position);
      position += bytesRead;
      if (bytesRead < into.length) refuseCut(fd, source.name, position, info.size);
      return bytesRead;
    };
    // A regular file's read comes short only at its end. One that did not reach the size the file
    // had when it was opened is read on (a network file system may return less), as is a full one,
    // and so is every read of a file that says it is empty: /proc's files do, and give a page a read.
    const atEnd = (short: boolean) => short && info.size > 0 && position >= info.size;
    yield* readInTurns(source, read, () => false, atEnd);
  } finally {
    // readInTurns has awaited its last read: no read of this descriptor is left in the pool.
    closeSync(fd);
  }
}
