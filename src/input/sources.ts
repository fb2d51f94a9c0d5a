/**
 * Opens inputs as async iterables of byte chunks: stdin (`-`), files, FIFOs and character devices.
 * What an input holds is told by its bytes, not its name (src/input/sniff.ts): gzip (one member or
 * several) is decompressed wherever it comes from, and an input that is clearly not text lines is
 * refused with a hint. Files are checked when they are opened, before any input is read.
 */
import { createReadStream, statSync, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { InputError, describeSystemError } from '../errors.js';
import { counted, gunzipped, notText, READ_CHUNK_BYTES, readable, skipBytes, sniffedStream, textOnly } from './decode.js';
import { readHead, readHeadNow, readRegularFile } from './file-io.js';
import { inflateHead } from './gzip-head.js';
import { readAsNamedPipe } from './named-pipe.js';
import type { KubeStatus } from './kube/source.js';
import { sniff, sniffText, type Sniffed } from './sniff.js';

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
   * Bytes passed over unread: a plain file's part before where a checkpoint resumes it, or all of
   * a file it already shipped. Part of the share done, never of the bytes read: a resumed run of a
   * 4.6 GB log that read its last 10 KB said "4.59 GB in 0.03 s".
   */
  skipped?: number;
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
  /** A plain file: another process may still be writing it, its last line perhaps half written. */
  growing?: true;
  /** Records of it left out by --since (before it) or --until (at or after it): its checkpoint entry keeps those bounds. */
  cutBy?: { since?: true; until?: true };
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

/**
 * The first bytes of a gzip file once decompressed (at most SNIFF_BYTES, from a partial inflate of
 * its first bytes on disk), or null for a file that is not gzip or whose start does not inflate.
 */
export function decodedHead(raw: Buffer): Buffer | null {
  if (sniff(raw).kind !== 'gzip') return null;
  try {
    return inflateHead(raw);
  } catch {
    return null;
  }
}

/** The file's kind by its first bytes, and what its text starts with (decoded, for gzip). */
function sniffHead(raw: Buffer): { sniffed: Sniffed; text: Sniffed } {
  const sniffed = sniff(raw);
  if (sniffed.kind !== 'gzip') return { sniffed, text: sniffed };
  // A partial inflate of the first block: enough to see whether lines of text follow. A corrupt
  // header throws here, and openFileSource describes it.
  const inner = sniffText(inflateHead(raw));
  return { sniffed: inner.kind === 'not-text' ? { ...inner, what: `gzip-compressed ${inner.what}` } : sniffed, text: inner };
}

/** What opening a file found: its kind, its size and which file it is (regular files). */
interface Inspected {
  kind: 'plain' | 'gzip' | 'stream';
  size: number | null;
  sniffed: Sniffed;
  /** Its text starts with nothing but NULs: judged by what follows them, as it is read. */
  zeros?: boolean;
  identity?: FileId;
  /** A character device (/dev/zero): NULs at its start are refused, as it gives them for ever. */
  device?: boolean;
  /** A named pipe: its open waits for a writer. */
  fifo?: boolean;
}

/** A FIFO, `<(zcat …)`, a character device: no size, no seeking, read as a stream. */
const stream = (info: Stats): Inspected => ({
  kind: 'stream',
  size: null,
  sniffed: { kind: 'text' },
  device: info.isCharacterDevice(),
  fifo: info.isFIFO(),
});

/** Whether `info` is a regular file (else a stream); a directory is refused. */
function isRegular(info: Stats): boolean {
  if (info.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
  return info.isFile();
}

/** What a regular file holds, judged by its first bytes (gzip by its decoded start too), and which file it is. */
function inspected(size: number, { dev, ino, head }: FileIdentity): Inspected {
  const { sniffed, text } = sniffHead(head);
  const kind = sniffed.kind === 'gzip' ? 'gzip' : 'plain';
  return { kind, size, sniffed, zeros: text.kind === 'zeros', identity: { dev, ino } };
}

async function inspect(path: string): Promise<Inspected> {
  const info = await stat(path);
  return isRegular(info) ? inspected(info.size, await readHead(path)) : stream(info);
}

function inspectNow(path: string): Inspected {
  const info = statSync(path);
  return isRegular(info) ? inspected(info.size, readHeadNow(path)) : stream(info);
}

/**
 * Opens a file input: checks that it exists, is readable, and holds text lines or gzip of them.
 * `blocking`: with calls that block instead of the thread pool's (see openSources).
 */
export async function openFileSource(path: string, blocking = false): Promise<InputSource> {
  let found: Inspected;
  try {
    found = blocking ? inspectNow(path) : await inspect(path);
  } catch (error) {
    throw new InputError(`${path}: ${describeSystemError(error)}`, { cause: error });
  }
  const { kind, size, sniffed, zeros, identity, device = false, fifo = false } = found;
  // Judged past the NULs as they are read, where the file starts with nothing else.
  const judged = (chunks: AsyncIterable<Buffer>) => (zeros ? textOnly(source, chunks) : chunks);
  const source: InputSource = {
    name: path,
    path: kind === 'stream' ? null : path,
    size,
    bytesRead: 0,
    ...(identity ? { identity } : {}),
    resume: null,
    exhausted: false,
    ...(kind === 'plain' ? { growing: true as const } : {}),
    chunks() {
      const offset = source.resume?.offset ?? 0;
      if (kind === 'plain') {
        return readable(source, judged(readRegularFile(source, path, offset)));
      }
      if (kind === 'gzip') {
        return readable(source, skipBytes(judged(gunzipped(readRegularFile(source, path, 0))), offset));
      }
      const input = counted(source, createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }));
      return readable(source, sniffedStream(source, input, device));
    },
  };
  if (fifo) readAsNamedPipe(source, path);
  notText(source, sniffed);
  return source;
}

/** Bytes consumed so far across all inputs. */
export function totalBytesRead(sources: readonly InputSource[]): number {
  let total = 0;
  for (const s of sources) total += s.bytesRead;
  return total;
}
