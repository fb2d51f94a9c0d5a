/**
 * Opens inputs as async iterables of byte chunks: stdin (`-`), plain files, and gzip files,
 * recognised by their `.gz` name or their magic bytes so that a renamed archive still reads.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { InputError, describeSystemError } from '../errors.js';

export const STDIN = '-';
const READ_CHUNK_BYTES = 256 * 1024;
const GZIP_MAGIC = [0x1f, 0x8b];

export interface InputSource {
  /** What diagnostics call this input: the path, or `<stdin>`. */
  name: string;
  path: string | null;
  /** Size on disk (compressed size for gzip), when known: drives percent done. */
  size: number | null;
  /** Bytes consumed from disk or stdin so far. */
  bytesRead: number;
  /** Where to start reading (decoded bytes and lines before it); set from a checkpoint. */
  resume: { offset: number; line: number } | null;
  chunks(): AsyncIterable<Buffer>;
  /**
   * Whether a valid record is new; false for a repeat that an input can produce by design (a
   * restarted `kubectl logs --since-time` overlaps what was already read). Absent: always new.
   */
  admit?(requestId: string, timestamp: string): boolean;
  /**
   * Ends the input now (shutdown), for inputs that would otherwise never end (an idle stdin, a
   * live tail): what was already read and buffered is still delivered, then the iteration ends.
   */
  close?(): void;
}

async function isGzipFile(path: string): Promise<boolean> {
  if (path.endsWith('.gz')) return true;
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  } finally {
    await handle.close();
  }
}

/**
 * Counts bytes as they pass, inside the pipe: a 'data' listener would switch the stream to
 * flowing mode and read the whole input into memory whatever the consumer's pace.
 */
function byteCounter(source: InputSource): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      source.bytesRead += chunk.length;
      done(null, chunk);
    },
  });
}

async function* readable(source: InputSource, decoded: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* decoded;
  } catch (error) {
    throw new InputError(`${source.name}: ${describeSystemError(error)}`, { cause: error });
  }
}

/** raw → count → (gunzip) → consumer, with backpressure at every step and errors carried along. */
function counted(source: InputSource, raw: NodeJS.ReadableStream, gunzip: Transform | null): AsyncIterable<Buffer> {
  const stages: (NodeJS.ReadableStream | NodeJS.WritableStream)[] = [raw, byteCounter(source)];
  if (gunzip) stages.push(gunzip);
  const out = stages[stages.length - 1] as Transform;
  // A failure anywhere destroys the last stage with it, so the consumer's read throws it.
  pipeline(stages as unknown as [NodeJS.ReadableStream, NodeJS.WritableStream]).catch(() => {});
  return out;
}

/** Drops the first `skip` bytes of a stream: a gzip file cannot be entered mid-way. */
async function* skipBytes(chunks: AsyncIterable<Buffer>, skip: number): AsyncGenerator<Buffer> {
  let left = skip;
  for await (const chunk of chunks) {
    if (left >= chunk.length) {
      left -= chunk.length;
      continue;
    }
    yield left > 0 ? chunk.subarray(left) : chunk;
    left = 0;
  }
}

/** Checks that a file input exists and is readable, so that a typo fails before any work starts. */
export async function openFileSource(path: string): Promise<InputSource> {
  let size: number;
  let gzip: boolean;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    size = info.size;
    gzip = await isGzipFile(path);
  } catch (error) {
    throw new InputError(`${path}: ${describeSystemError(error)}`, { cause: error });
  }
  const source: InputSource = {
    name: path,
    path,
    size,
    bytesRead: 0,
    resume: null,
    chunks() {
      const offset = source.resume?.offset ?? 0;
      const start = gzip ? 0 : offset;
      source.bytesRead = start;
      const raw = createReadStream(path, { highWaterMark: READ_CHUNK_BYTES, start });
      if (!gzip) return readable(source, counted(source, raw, null));
      const gunzip = createGunzip({ chunkSize: READ_CHUNK_BYTES });
      return readable(source, skipBytes(counted(source, raw, gunzip), offset));
    },
  };
  return source;
}

export function stdinSource(stdin: NodeJS.ReadableStream = process.stdin): InputSource {
  let endInput: (() => void) | null = null;
  const source: InputSource = {
    name: '<stdin>',
    path: null,
    size: null,
    bytesRead: 0,
    resume: null,
    chunks() {
      const counter = byteCounter(source);
      stdin.on('error', (error) => counter.destroy(error));
      stdin.pipe(counter);
      // Ending, not destroying: what is already buffered still reaches the consumer.
      endInput = () => {
        stdin.unpipe(counter);
        counter.end();
        (stdin as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      };
      return readable(source, counter);
    },
    close() {
      endInput?.();
      endInput = null;
    },
  };
  return source;
}

/** Bytes consumed so far across all inputs. */
export function totalBytesRead(sources: readonly InputSource[]): number {
  let total = 0;
  for (const s of sources) total += s.bytesRead;
  return total;
}

/** Opens every named input up front (`-` is stdin); none named means stdin. */
export async function openSources(names: readonly string[]): Promise<InputSource[]> {
  if (names.length === 0) return [stdinSource()];
  const sources: InputSource[] = [];
  for (const name of names) sources.push(name === STDIN ? stdinSource() : await openFileSource(name));
  return sources;
}
