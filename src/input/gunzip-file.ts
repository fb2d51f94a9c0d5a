/**
 * gunzip of a file, to the last member that can be decoded. When zlib fails after a member (bytes
 * after it that are no member: "trailing garbage", or a next member's damaged header), Node's zlib
 * drops what its failing step had decoded, and a stream's iterator what it had not yet handed
 * out: 89 of 20,000 records before a line of garbage were never read, and with --checkpoint a
 * re-run stops at the same place, so `gzip -dc` could read records that audit-ship never ships.
 * On such a failure the file is decoded again, the bytes of the write that failed one at a time,
 * so that the step that fails holds one byte, and what came before it is delivered; then the
 * failure is thrown, as before (the input was not read to its end). Only the failure path pays.
 */
import { createGunzip } from 'node:zlib';
import { gunzipped, writer } from './decode.js';

interface Again {
  /** Decoded bytes past the first `skip`, up to the failure. */
  tail: Buffer[];
  /** Where in the file the write that failed began; null if none did (the file ended early). */
  failedAt: number | null;
}

/**
 * Decodes `chunks` again: whole up to `slowFrom`, then in writes of `slice` bytes. Output is taken
 * as it comes ('data'), so none waits in a buffer that the failure would drop. Memory: the tail
 * is what the first decoding lost, at most a step's output and what waited unread (~0.5 MB).
 */
async function decodeAgain(chunks: AsyncIterable<Buffer>, slowFrom: number, slice: number, skip: number): Promise<Again> {
  // Small steps: this decoding keeps none of its output but the tail, and 256 KB ones took RSS to 96 MB.
  const gunzip = createGunzip({ chunkSize: 16 * 1024 });
  const tail: Buffer[] = [];
  let decoded = 0;
  gunzip.on('data', (chunk: Buffer) => {
    const from = Math.max(0, skip - decoded);
    decoded += chunk.length;
    if (from < chunk.length) tail.push(Buffer.from(chunk.subarray(from)));
  });
  gunzip.on('error', () => {}); // the write or end that failed says so
  const write = writer(gunzip);
  let position = 0;
  let failedAt: number | null = null;
  try {
    for await (const chunk of chunks) {
      for (let offset = 0; offset < chunk.length;) {
        const size = position < slowFrom ? Math.min(chunk.length - offset, slowFrom - position) : Math.min(slice, chunk.length - offset);
        failedAt = position;
        await write(chunk.subarray(offset, offset + size));
        failedAt = null;
        offset += size;
        position += size;
      }
    }
    await new Promise<void>((resolve) => gunzip.end(resolve));
  } catch {
    // the same failure as the first decoding's, or sooner if the file changed: what came before it stands
  } finally {
    gunzip.destroy();
  }
  return { tail, failedAt };
}

/**
 * zlib failed where a member's header should be: every member before it ended with its CRC and
 * length checked, so what it decoded is whole and right. Inside a member nothing is checked before
 * its end: bytes decoded just before damage there may be wrong, and one cut short ("unexpected
 * end of file", a file still being written) is read again from its start by a later run, so
 * neither is sought out.
 */
function failedAtAHeader(error: unknown): boolean {
  const { code, message } = (error ?? {}) as NodeJS.ErrnoException;
  return code === 'Z_DATA_ERROR' && /header|compression method/.test(message);
}

/**
 * The decoded bytes of the gzip file that `read()` reads from its start, each time it is called.
 * A failure of zlib at a member's header is thrown after every member before it (above); any other, as it comes.
 */
export async function* gunzippedFile(read: () => AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const fed = { bytes: 0 };
  let delivered = 0;
  let failure: unknown;
  try {
    for await (const chunk of gunzipped(read(), fed)) {
      delivered += chunk.length;
      yield chunk;
    }
    return;
  } catch (error) {
    if (!failedAtAHeader(error)) throw error;
    failure = error;
  }
  // Which few hundred bytes of the failing write hold the failure, then those one by one: a
  // write of one byte at a time over all of it cost 6 s for a 256 KB read.
  const coarse = await decodeAgain(read(), fed.bytes, 512, Number.MAX_SAFE_INTEGER);
  const fine = await decodeAgain(read(), coarse.failedAt ?? fed.bytes, 1, delivered);
  yield* fine.tail;
  throw failure;
}
