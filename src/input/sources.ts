/**
 * Opens inputs as async iterables of byte chunks: stdin (`-`), files, FIFOs and character devices.
 * What an input holds is told by its bytes, not its name (src/input/sniff.ts): gzip (one member or
 * several) is decompressed wherever it comes from, and an input that is clearly not text lines is
 * refused with a hint. Files are checked when they are opened, before any input is read.
 */
import { closeSync, createReadStream, fstatSync, openSync, read, readSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { constants, gunzipSync } from 'node:zlib';
import { InputError, InputReadError, describeSystemError } from '../errors.js';
import { counted, gunzipped, notText, READ_CHUNK_BYTES, readable, readInTurns, skipBytes, sniffedStream } from './decode.js';
import type { KubeStatus } from './kube/source.js';
import { sniff, sniffText, SNIFF_BYTES, type Sniffed } from './sniff.js';
import { openStdin } from './stdin.js';

export const STDIN = '-';

export interface InputSource {
  /** What diagnostics call this input: the path, or `<stdin>`. */
  name: string;
  path: string | null;
  /** Size on disk (compressed size for gzip), when known: drives percent done. */
  size: number | null;
  /** Bytes consumed from disk or stdin so far (compressed bytes for gzip). */
  bytesRead: number;
  /**
   * Which file this is, whatever its name (regular files only): its device and inode when it was
   * opened; with its first bytes once read for --checkpoint (`readIdentity`), or as given to a worker.
   */
  identity?: FileId | FileIdentity;
  /** Where to start reading (decoded bytes and lines before it); set from a checkpoint. */
  resume: { offset: number; line: number } | null;
  /**
   * True once the input was read to its own end. False while it is read, and when it was cut
   * short (a signal, a read error): the exit status then says that input was not fully read.
   */
  exhausted: boolean;
  /** A live tail (kubectl) has no end: a signal is its normal stop, not an unread input. */
  live?: boolean;
  /** The pod streams of `--kubectl`, for the metrics and the readiness probe. */
  kube?: KubeStatus;
  /**
   * The input's bytes. A chunk may be read into memory that is reused: it is valid until the
   * chunk after the next one is asked for, so a consumer keeps nothing of a chunk once it asks
   * for more (the line splitter copies a line that runs on).
   */
  chunks(): AsyncIterable<Buffer>;
  /**
   * Whether a valid record (the line ending at `end`) is new; false for a repeat an input can
   * produce by design (a record seen again among the recent RequestIDs). Absent: always new.
   */
  admit?(requestId: string, end: number): boolean;
  /**
   * Every line up to `end` (the source's byte offset) is in the spool, or counted otherwise: an
   * input that keeps positions of its own (kubectl) moves them now.
   */
  committed?(end: number): void;
  /**
   * Resolves once the positions the input keeps (kubectl) are on disk, at most `behind` moves of
   * committed() behind (0 or none: as it last moved them); rejects with a save that failed.
   */
  saved?(behind?: number): Promise<void>;
  /**
   * RequestIDs an earlier run left in the spool: an input that can read them again (a restarted
   * kubectl whose position trailed the spool) drops them as repeats.
   */
  remember?(requestIds: Iterable<string>): void;
  /** Where the line ending at `end` was logged (kubectl: its pod), for `--kubernetes-metadata`. */
  origin?(end: number): { namespace: string; pod: string; container: string } | null;
  /**
   * Ends the input now (shutdown), for inputs that would otherwise never end (an idle stdin, a
   * live tail): what was already read and buffered is still delivered, then the iteration ends.
   */
  close?(): void;
}

/** A file as the file system knows it, whatever its name. */
export interface FileId {
  dev: number;
  ino: number;
}

/**
 * A file told apart from others by device, inode and its first bytes (as on disk: compressed for
 * gzip), as Fluent Bit's tail database and Filebeat's registry do: a rotated or replaced file
 * under an old name, or an old file under a new name, is recognised.
 */
export interface FileIdentity extends FileId {
  /** Up to the first 4 KiB of the file. */
  head: Buffer;
}

const NO_HEAD = Buffer.alloc(0);

/**
 * A file's identity for --checkpoint, its first bytes read when its turn comes. Every input is
 * opened before the first is read; each one's first 4 KiB, kept from then on, made a run's memory
 * grow with its number of files: 2,000 files of 100 records peaked at 72.6 MB, against 62.7 for
 * the same records in one file. A file that is no longer the one opened (replaced, gone) has no
 * first bytes here: reading it refuses it, as it did.
 */
export async function readIdentity(source: InputSource): Promise<FileIdentity | undefined> {
  const id = source.identity;
  if (!id || source.path === null) return undefined;
  if ('head' in id) return id;
  const { dev, ino } = id;
  try {
    const now = readHeadNow(source.path);
    if (now.dev === dev && now.ino === ino) return now;
  } catch {
    // gone: as replaced
  }
  return { dev, ino, head: NO_HEAD };
}

/** The device, inode and first bytes (up to SNIFF_BYTES) of the regular file at `path`. */
async function readHead(path: string): Promise<FileIdentity> {
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

/** The same as readHead, in calls that block: for a file whose turn has come (see readPlainFile). */
function readHeadNow(path: string): FileIdentity {
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

/** Reads into `into` from `position`; the number of bytes read, 0 at the end. */
function readAt(fd: number, into: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, into, 0, into.length, position, (error, n) => (error ? reject(error) : resolve(n))));
}

/**
 * A plain file, from `start`, read in turns into two buffers. Opened, checked and closed with calls
 * that block, when its turn has come: through the thread pool, each of those took a round trip
 * that cost about 50 µs of CPU on this machine's two cores (the pool's thread and the event loop
 * woken in turn), against a few µs for the call itself, and nothing else was left to do meanwhile.
 * A backfill of 400 small files spent 0.2 ms a file there. The reads stay in the pool, where they
 * overlap with the work on the chunk before: a file not in the page cache is read from the disk.
 */
async function* readPlainFile(source: InputSource, path: string, start: number): AsyncGenerator<Buffer> {
  const fd = openSync(path, 'r');
  try {
    const info = fstatSync(fd);
    if (source.identity && (info.dev !== source.identity.dev || info.ino !== source.identity.ino)) {
      // Rotated between the run's start and its turn: the checkpoint position belongs to the other file.
      throw new InputReadError(
        source.name,
        'was replaced by another file (rotated?) after the run started; run again to read the new one',
        0,
      );
    }
    let position = start;
    yield* readInTurns(source, async (into) => {
      const bytesRead = await readAt(fd, into, position);
      position += bytesRead;
      return bytesRead;
    });
  } finally {
    // readInTurns has awaited its last read: no read of this descriptor is left in the pool.
    closeSync(fd);
  }
}

/** What a regular file holds, judged by its first bytes (gzip by its decoded start too), and which file it is. */
async function sniffFile(path: string): Promise<{ sniffed: Sniffed; identity: FileId }> {
  const { dev, ino, head } = await readHead(path);
  return { sniffed: sniffHead(head), identity: { dev, ino } };
}

function sniffHead(raw: Buffer): Sniffed {
  const sniffed = sniff(raw);
  if (sniffed.kind !== 'gzip') return sniffed;
  // A partial inflate of the first block: enough to see whether lines of text follow. A corrupt
  // header throws here, and openFileSource describes it.
  const decoded = gunzipSync(raw, { finishFlush: constants.Z_SYNC_FLUSH });
  const inner = sniffText(decoded.subarray(0, SNIFF_BYTES));
  return inner.kind === 'not-text' ? { ...inner, what: `gzip-compressed ${inner.what}` } : sniffed;
}

/** Opens a file input: checks that it exists, is readable, and holds text lines or gzip of them. */
export async function openFileSource(path: string): Promise<InputSource> {
  let size: number | null;
  let kind: 'plain' | 'gzip' | 'stream';
  let sniffed: Sniffed = { kind: 'text' };
  let identity: FileId | undefined;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (info.isFile()) {
      size = info.size;
      ({ sniffed, identity } = await sniffFile(path));
      kind = sniffed.kind === 'gzip' ? 'gzip' : 'plain';
    } else {
      // A FIFO, `<(zcat …)`, a character device: no size, no seeking, read as a stream.
      size = null;
      kind = 'stream';
    }
  } catch (error) {
    throw new InputError(`${path}: ${describeSystemError(error)}`, { cause: error });
  }
  const source: InputSource = {
    name: path,
    path: kind === 'stream' ? null : path,
    size,
    bytesRead: 0,
    ...(identity ? { identity } : {}),
    resume: null,
    exhausted: false,
    chunks() {
      const offset = source.resume?.offset ?? 0;
      if (kind === 'plain') {
        source.bytesRead = offset;
        return readable(source, readPlainFile(source, path, offset));
      }
      const input = counted(source, createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }));
      if (kind === 'stream') return readable(source, sniffedStream(source, input));
      return readable(source, skipBytes(gunzipped(input), offset));
    },
  };
  notText(source, sniffed);
  return source;
}

/** Bytes consumed so far across all inputs. */
export function totalBytesRead(sources: readonly InputSource[]): number {
  let total = 0;
  for (const s of sources) total += s.bytesRead;
  return total;
}

/**
 * Inputs opened at once. Opening one is a few round trips to the thread pool (stat, open, a read,
 * close), and one after another they held up a backfill of 2,000 files for about 0.8 s before
 * its first record.
 */
const OPEN_AT_ONCE = 16;

/** Opens every named input up front (`-` is stdin); none named means stdin. */
export async function openSources(names: readonly string[]): Promise<InputSource[]> {
  if (names.length === 0) return [openStdin()];
  const sources: InputSource[] = new Array<InputSource>(names.length);
  // The first input that cannot be opened, in the order given, is the one reported.
  const first = { failed: names.length, error: undefined as unknown };
  let next = 0;
  const opener = async () => {
    for (let index = next++; index < names.length && index < first.failed; index = next++) {
      try {
        const name = names[index]!;
        sources[index] = name === STDIN ? openStdin() : await openFileSource(name);
      } catch (error) {
        if (index < first.failed) Object.assign(first, { failed: index, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPEN_AT_ONCE, names.length) }, opener));
  if (first.failed < names.length) throw first.error;
  return sources;
}
