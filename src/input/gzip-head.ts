/**
 * The decoded start of a gzip file, from its first bytes on disk: enough to judge whether text
 * lines follow, and to know a compressed rotation by its content (src/ship/checkpoint.ts).
 */
import { constants, crc32, gunzipSync, inflateRawSync } from 'node:zlib';
import { SNIFF_BYTES } from './sniff.js';

const PARTIAL = { finishFlush: constants.Z_SYNC_FLUSH };

/** Gzip header flags (RFC 1952, 2.3.1). */
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
/** Flag bits RFC 1952 reserves, which zlib refuses. */
const RESERVED = 0xe0;

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/**
 * Compressed bytes inflated first: audit lines give the SNIFF_BYTES a check needs from about
 * 1.5 KB of gzip. The whole 4 KiB head gave some 24 KB, twice the CPU, and the garbage of 2,000
 * files checked one after another raised a backfill's peak by 8 MB.
 */
const FIRST_TRY_BYTES = 2048;

/**
 * The first SNIFF_BYTES (or fewer) of what `raw`, a gzip file's first bytes, decompress to: from
 * FIRST_TRY_BYTES of it when they are enough, else from all of it. Bytes after a member that are
 * no member ("trailing garbage") fail gunzip as a whole, its output lost with them: a small file
 * that ends in them was refused before a line was read, where a larger one is read up to them
 * (src/input/gunzip-members.ts). The first member alone is then inflated; the first error stands
 * when that fails too.
 */
export function inflateHead(raw: Buffer): Buffer {
  const start = raw.length > FIRST_TRY_BYTES ? enough(raw.subarray(0, FIRST_TRY_BYTES)) : null;
  return (start ?? inflateWhole(raw)).subarray(0, SNIFF_BYTES);
}

/** A partial inflate of `raw` when it gives SNIFF_BYTES; null otherwise, or when it fails, to be judged on more bytes. */
function enough(raw: Buffer): Buffer | null {
  try {
    const decoded = gunzipSync(raw, PARTIAL);
    return decoded.length >= SNIFF_BYTES ? decoded : null;
  } catch {
    return null;
  }
}

function inflateWhole(raw: Buffer): Buffer {
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

/** What the start of a gzip member says: where its deflate data begins, that more bytes are needed, or why it is none. */
export type MemberHeader = { bodyAt: number } | { short: true } | { invalid: string };

/**
 * The header of the gzip member at the start of `b` (RFC 1952, 2.3), checked as zlib checks it;
 * the messages are zlib's own, so that every gzip failure reads alike.
 */
export function memberHeader(b: Buffer): MemberHeader {
  const magic = Math.min(b.length, 2);
  if (!b.subarray(0, magic).equals(GZIP_MAGIC.subarray(0, magic))) return { invalid: 'incorrect header check' };
  if (b.length < 10) return { short: true };
  if (b[2] !== 8) return { invalid: 'unknown compression method' };
  const flags = b[3]!;
  if (flags & RESERVED) return { invalid: 'unknown header flags set' };
  let at = 10;
  if (flags & FEXTRA) at = at + 2 <= b.length ? at + 2 + b.readUInt16LE(at) : Infinity;
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag) || at >= b.length) continue;
    const end = b.indexOf(0, at);
    at = end < 0 ? Infinity : end + 1;
  }
  if (flags & FHCRC) {
    if (at + 2 > b.length) return { short: true };
    if (b.readUInt16LE(at) !== (crc32(b.subarray(0, at)) & 0xffff)) return { invalid: 'header crc mismatch' };
    at += 2;
  }
  return at <= b.length ? { bodyAt: at } : { short: true };
}

/** Where the deflate data of the gzip member at the start of `b` begins; null for a header cut short or not gzip's. */
function memberBody(b: Buffer): number | null {
  const header = memberHeader(b);
  return 'bodyAt' in header && header.bodyAt < b.length ? header.bodyAt : null;
}
