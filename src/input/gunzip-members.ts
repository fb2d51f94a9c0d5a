/**
 * gunzip of a stream, one member at a time. zlib's gunzip, given bytes after a member that are no
 * member ("trailing garbage", or a next member's damaged header), fails as a whole and drops what
 * its failing step had decoded, and a stream's iterator what it had not yet handed out: 89 of
 * 20,000 records before a line of garbage were never read. A file could be decoded again up to
 * the failure; stdin cannot be read twice. Here zlib only ever sees one member's deflate data:
 * the header and the trailer (CRC-32 and length, RFC 1952) are read and checked here, so every
 * byte of every whole member is delivered before the bytes after them are refused.
 */
import { createInflateRaw, crc32, type InflateRaw } from 'node:zlib';
import { memberHeader } from './gzip-head.js';

/** Bytes of a member's trailer: CRC-32 and length of its decoded data, little-endian. */
const TRAILER_BYTES = 8;

/** A header longer than this (FEXTRA, FNAME, FCOMMENT are unbounded) is refused: no real one comes near it. */
const MAX_HEADER_BYTES = 1024 * 1024;

/** A failure shaped as zlib's own, so that it is described as any gzip failure is (describeSystemError). */
function zlibError(message: string, code = 'Z_DATA_ERROR'): Error {
  return Object.assign(new Error(message), { code });
}

/** Writes to zlib one at a time: each settles once zlib has taken it, or failed. */
export function writer(zlib: InflateRaw): (chunk: Buffer) => Promise<void> {
  return (chunk) =>
    new Promise<void>((resolve, reject) => {
      // A write under way when zlib fails is never called back: its close ends the wait.
      const closed = () => reject(new Error('gunzip closed'));
      zlib.once('close', closed);
      zlib.write(chunk, (error) => {
        zlib.off('close', closed);
        if (error) reject(error);
        else resolve();
      });
    });
}

/**
 * The input's chunks, with what a member left unused of the last one handed back. Chunks may be
 * read into reused memory (src/input/decode.ts): one stays valid until the chunk after the next is
 * asked for, and only the last chunk's rest is ever kept, so nothing is copied but headers and
 * trailers that a chunk's end cuts.
 */
class Input {
  private rest: Buffer | null = null;
  private ended = false;

  constructor(private readonly it: AsyncIterator<Buffer>) {}

  async next(): Promise<Buffer | null> {
    const rest = this.rest;
    this.rest = null;
    if (rest) return rest;
    if (this.ended) return null;
    const r = await this.it.next();
    if (r.done) this.ended = true;
    return r.done ? null : r.value;
  }

  unread(bytes: Buffer): void {
    if (bytes.length > 0) this.rest = bytes;
  }

  close(): void {
    if (!this.ended) this.it.return?.().catch(() => {});
  }
}

/** The next member's header, its deflate data left unread; null at the end, after zero bytes of padding at most. */
async function readHeader(input: Input): Promise<boolean> {
  let head: Buffer | null = null;
  for (let chunk = await input.next(); chunk; chunk = await input.next()) {
    if (head === null) {
      // Zero bytes after a member are padding (tape blocks, preallocated files), as gzip(1) and zlib take them.
      const start = chunk.findIndex((byte) => byte !== 0);
      if (start < 0) continue;
      chunk = chunk.subarray(start);
    }
    head = head === null ? chunk : Buffer.concat([head, chunk]);
    const header = memberHeader(head);
    if ('invalid' in header) throw zlibError(header.invalid);
    if ('bodyAt' in header) {
      input.unread(head.subarray(header.bodyAt));
      return true;
    }
    if (head.length > MAX_HEADER_BYTES) throw zlibError('gzip header too long');
    // The header goes on into the next chunk, which may reuse this one's memory.
    head = Buffer.from(head);
  }
  if (head !== null) throw zlibError('unexpected end of file', 'Z_BUF_ERROR');
  return false;
}

/** Exactly `n` bytes, copied; the input's end before them is a member cut short. */
async function readExactly(input: Input, n: number): Promise<Buffer> {
  const out = Buffer.alloc(n);
  let filled = 0;
  while (filled < n) {
    const chunk = await input.next();
    if (chunk === null) throw zlibError('unexpected end of file', 'Z_BUF_ERROR');
    const taken = chunk.copy(out, filled, 0, n - filled);
    filled += taken;
    input.unread(chunk.subarray(taken));
  }
  return out;
}

/**
 * Feeds a member's deflate data to `inflater` until it ends, where zlib stops taking bytes
 * (its `bytesWritten` counts those it took); the bytes after it are handed back to `input`.
 */
async function feed(input: Input, inflater: InflateRaw): Promise<void> {
  const write = writer(inflater);
  let fed = 0;
  for (let chunk = await input.next(); chunk; chunk = await input.next()) {
    await write(chunk);
    fed += chunk.length;
    const unused = fed - inflater.bytesWritten;
    if (unused > 0) {
      input.unread(chunk.subarray(chunk.length - unused));
      return;
    }
  }
  // The input ended: zlib says whether the member had.
  inflater.end();
}

const NO_OUTPUT = Buffer.alloc(0);

/**
 * Lets go of the output memory a destroyed inflater keeps (zlib's `_outBuffer`: `chunkSize`
 * bytes, 256 KiB here), which zlib reads no more once the stream is destroyed. The inflater lives
 * as long as its member is read, long enough to be moved to V8's old generation, where it waits
 * for a full collection, and its last output buffer with it: 400 `.gz` files of 500 records
 * peaked at 86 MB, 72 when it is let go (the same records in one `.gz` file: 71).
 */
function releaseOutput(inflater: InflateRaw): void {
  (inflater as unknown as { _outBuffer: Buffer })._outBuffer = NO_OUTPUT;
}

/** One member's decoded data, as zlib hands it out; its trailer checked after the last of it. */
async function* inflateMember(input: Input, chunkSize: number): AsyncGenerator<Buffer> {
  const inflater = createInflateRaw({ chunkSize });
  // A failure to read the input reaches the reader of the output.
  const feeding = feed(input, inflater).catch((error: Error) => {
    inflater.destroy(error);
  });
  let crc = 0;
  let size = 0;
  // Not destroyed by the iteration: its end of output comes before its input is ended, where the
  // iterator destroys it with an AbortError whose stack costs ~25 µs a file.
  const output: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => inflater.iterator({ destroyOnReturn: false }) };
  try {
    for await (const out of output) {
      crc = crc32(out, crc);
      size = (size + out.length) >>> 0;
      yield out;
    }
  } finally {
    inflater.destroy();
    releaseOutput(inflater);
  }
  await feeding;
  const trailer = await readExactly(input, TRAILER_BYTES);
  if (trailer.readUInt32LE(0) !== crc) throw zlibError('incorrect data check');
  if (trailer.readUInt32LE(4) !== size) throw zlibError('incorrect length check');
}

/**
 * The decoded bytes of every gzip member in `chunks`, in order, each member's data delivered in
 * full before its trailer is checked and before whatever follows it is read. Backpressure is
 * zlib's: a member's output is taken as the consumer reads it, and its input written as zlib takes it.
 */
export async function* gunzipMembers(chunks: AsyncIterable<Buffer>, chunkSize: number): AsyncGenerator<Buffer> {
  const input = new Input(chunks[Symbol.asyncIterator]());
  try {
    while (await readHeader(input)) yield* inflateMember(input, chunkSize);
  } finally {
    input.close();
  }
}
