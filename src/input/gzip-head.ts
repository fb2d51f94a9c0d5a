/**
 * The decoded start of a gzip file, from its first bytes on disk: enough to judge whether text
 * lines follow, and to know a compressed rotation by its content (src/ship/checkpoint.ts).
 */
import { constants, gunzipSync, inflateRawSync } from 'node:zlib';

const PARTIAL = { finishFlush: constants.Z_SYNC_FLUSH };

/** Gzip header flags (RFC 1952, 2.3.1). */
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;

/**
 * A partial inflate of `raw`, a gzip file's first bytes. Bytes after a member that are no member
 * ("trailing garbage") fail gunzip as a whole, its output lost with them: a small file that
 * ends in them was refused before a line was read, where a larger one is read up to them
 * (src/input/gunzip-file.ts). The first member alone is then inflated; the first error stands
 * when that fails too.
 */
export function inflateHead(raw: Buffer): Buffer {
  try {
    return gunzipSync(raw, PARTIAL);
  } catch (error) {
    const body = memberBody(raw);
    if (body === null) throw error;
    try {
      return inflateRawSync(raw.subarray(body), PARTIAL);
    } catch {
      throw error;
    }
  }
}

/** Where the deflate data of the gzip member at the start of `b` begins; null for a header cut short or not gzip's. */
function memberBody(b: Buffer): number | null {
  if (b.length < 10 || b[0] !== 0x1f || b[1] !== 0x8b || b[2] !== 8) return null;
  const flags = b[3]!;
  let at = 10;
  if (flags & FEXTRA) at = at + 2 <= b.length ? at + 2 + b.readUInt16LE(at) : Infinity;
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag) || at >= b.length) continue;
    const end = b.indexOf(0, at);
    at = end < 0 ? Infinity : end + 1;
  }
  if (flags & FHCRC) at += 2;
  return at < b.length ? at : null;
}
