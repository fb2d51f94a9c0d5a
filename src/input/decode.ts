/**
 * The steps every input's bytes go through on their way to the line splitter, whatever they come
 * from: reading in turns into reused memory, counting, gunzip, the check that they are text, and
 * naming the input in a read error.
 */
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InputError, InputReadError, NotTextError, describeSystemError } from '../errors.js';
import { gunzipMembers } from './gunzip-members.js';
import { DEVICE_ZEROS, pastNuls, sniff, sniffText, SNIFF_BYTES, type Sniffed } from './sniff.js';
import type { InputSource } from './sources.js';

/** The size of a read: large enough that the pipeline's work per chunk is small beside its lines'. */
export const READ_CHUNK_BYTES = 256 * 1024;

/**
 * Read buffers of inputs read to their end, for the next input. A backfill of many files gave
 * each file two buffers of its own, and the old ones waited for a full garbage collection, which
 * a busy backfill seldom has: 400 files of 500 records peaked at 69.2 MB, and at 65.3 with the
 * buffers handed on (the same records in one file: 62.7). The one that took the end-of-input read
 * comes first, so the next input's first read goes there, not into the last chunk delivered.
 */
const spareBuffers: Buffer[] = [];

function takeBuffer(): Buffer {
  return spareBuffers.pop() ?? Buffer.allocUnsafe(READ_CHUNK_BYTES);
}

/**
 * Reads into two buffers in turn, the next read running while the consumer works on the chunk
 * just read (a stream reads each chunk into fresh memory: over 200 MB that cost about 0.16 s more
 * CPU, in allocation and page faults). `read` fills the buffer it is given and says how many bytes
 * it read, 0 at the end; `atEnd(short)` says whether the read just made, `short` when it gave fewer
 * bytes than asked, reached the end, so that none is made to find it (a file shorter than a chunk
 * is then one read, not two). Once `stopped()` is true no further read is started: the chunks
 * already read are delivered, then the iteration ends. As within an input, a chunk stays valid
 * until the chunk after the next one is asked for, counting the next input's.
 */
export async function* readInTurns(
  source: InputSource,
  read: (into: Buffer) => Promise<number>,
  stopped: () => boolean = () => false,
  atEnd: (short: boolean) => boolean = () => false,
): AsyncGenerator<Buffer> {
  const buffers = [takeBuffer(), takeBuffer()];
  let turn = 0;
  let reading: Promise<number> | null = read(buffers[turn]!);
  let ended = false;
  try {
    while (reading) {
      const bytesRead = await reading;
      if (bytesRead === 0) {
        ended = true;
        return;
      }
      const chunk = buffers[turn]!.subarray(0, bytesRead);
      const last = atEnd(bytesRead < buffers[turn]!.length);
      source.bytesRead += bytesRead;
      // The other buffer held the chunk before this one, which the consumer is done with.
      turn ^= 1;
      reading = last || stopped() ? null : read(buffers[turn]!);
      // Its failure (a read error, a file cut under it) is met when the loop awaits it, after the
      // consumer is done with this chunk: marked handled meanwhile, or a consumer that waits (a
      // full spool) let it end the process as an unhandled rejection.
      reading?.catch(() => {});
      yield chunk;
      ended = last;
    }
  } finally {
    // A read still running must land before its file is closed.
    await reading?.catch(() => {});
    // Only an input read to its end hands its buffers on: one left early may still be in use.
    if (ended) spareBuffers.push(buffers[turn ^ 1]!, buffers[turn]!);
  }
}

/**
 * Counts bytes as they pass, inside the pipe: a 'data' listener would switch the stream to
 * flowing mode and read the whole input into memory whatever the consumer's pace.
 */
export function byteCounter(source: InputSource): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      source.bytesRead += chunk.length;
      done(null, chunk);
    },
  });
}

/**
 * Yields the decoded chunks; marks the source exhausted at their end, and names it in any error.
 * `whole` says whether that end is the input's own: one that close() forced on stdin or a named
 * pipe leaves it as not read to its end.
 */
export async function* readable(source: InputSource, decoded: AsyncIterable<Buffer>, whole = () => true): AsyncGenerator<Buffer> {
  try {
    yield* decoded;
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputReadError(source.name, describeSystemError(error), (source.skipped ?? 0) + source.bytesRead, { cause: error });
  }
  if (whole()) source.exhausted = true;
}

export function notText(source: InputSource, sniffed: Sniffed): void {
  if (sniffed.kind === 'not-text') throw new NotTextError(source.name, `holds ${sniffed.what}, not JSON lines; ${sniffed.hint}`);
}

/**
 * Refuses decoded input whose first chunk is not text (a tar inside a .gz, say). One that starts
 * with nothing but NULs (a file whose first blocks a crash zeroed) is judged by its first bytes
 * after them: the lines the writer appended after its restart are read.
 */
export async function* textOnly(source: InputSource, chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let judging: 'head' | 'after-zeros' | null = 'head';
  for await (const chunk of chunks) {
    if (judging === 'head') {
      const sniffed = sniffText(chunk.subarray(0, SNIFF_BYTES));
      notText(source, sniffed);
      judging = sniffed.kind === 'zeros' ? 'after-zeros' : null;
    }
    if (judging === 'after-zeros') {
      const at = pastNuls(chunk);
      if (at >= 0) {
        notText(source, sniffText(chunk.subarray(at, at + SNIFF_BYTES)));
        judging = null;
      }
    }
    yield chunk;
  }
}

/**
 * gunzip over chunks read into reused memory: zlib reads a chunk in the thread pool after write()
 * has returned, so each chunk is handed over only once zlib is done with the one before, and the
 * reader may then read into that one's memory. Gzip read into fresh memory instead cost a backfill
 * of 400 small .gz files about 0.2 s more CPU (docs/performance.md). Member by member
 * (src/input/gunzip-members.ts): whatever follows the last whole member, every byte before it is delivered.
 */
export function gunzipped(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  return gunzipMembers(chunks, READ_CHUNK_BYTES);
}

/** raw → count, with backpressure; a failure of the raw stream destroys the counter, so the consumer's read throws it. */
export function counted(source: InputSource, raw: NodeJS.ReadableStream): Transform {
  const counter = byteCounter(source);
  pipeline(raw, counter).catch(() => {});
  return counter;
}

/** Drops the first `skip` bytes of a stream: a gzip file cannot be entered mid-way. */
export async function* skipBytes(chunks: AsyncIterable<Buffer>, skip: number): AsyncGenerator<Buffer> {
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

async function* prepend(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
}

/**
 * A stream whose kind is known only from its first bytes (stdin, a FIFO): waits for two bytes at
 * least (the gzip magic), never for more, so that a live tail's first short line is not held back.
 * `device`: a character device, refused when its first bytes are NULs (/dev/zero, read for ever).
 */
export async function* sniffedStream(source: InputSource, raw: AsyncIterable<Buffer>, device: boolean): AsyncGenerator<Buffer> {
  const it = raw[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let length = 0;
  while (length < 2) {
    const r = await it.next();
    if (r.done) break;
    head.push(r.value);
    length += r.value.length;
  }
  if (length === 0) return;
  // Two bytes took several reads: copied out, as the reader reuses the first's memory for the third.
  const first = head.length === 1 ? head[0]! : Buffer.concat(head);
  const sniffed = sniff(first.subarray(0, SNIFF_BYTES));
  notText(source, device && sniffed.kind === 'zeros' ? DEVICE_ZEROS : sniffed);
  const rest = prepend(first, it);
  if (sniffed.kind === 'gzip') yield* textOnly(source, gunzipped(rest));
  else yield* sniffed.kind === 'zeros' ? textOnly(source, rest) : rest;
}
