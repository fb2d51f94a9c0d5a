/**
 * Copies the part of a JSON string that stands for itself four bytes at a time: a word is read,
 * checked for a quote, a backslash or a control byte with a few integer operations, and written
 * whole. Byte by byte, the scanner spent most of its time on this loop (one table load, compare
 * and store per byte); words take the long plain runs of a record (user agents, URIs, referers)
 * at about a third of the cost, and the flags of the last word give the byte that ends the run.
 */

/** 0x80 in every byte of a word: the flags the tests below leave in the bytes that match. */
const HIGH_BITS = 0x80808080;
const ONES = 0x01010101;
const CONTROL_LIMIT = 0x20202020;
const QUOTES = 0x22222222;
const BACKSLASHES = 0x5c5c5c5c;

/**
 * The flags of the bytes of `word` that are below 0x20, a quote or a backslash: 0x80 in such a
 * byte, and perhaps in bytes after it, never in one before it. `(w - n * ONES) & ~w & HIGH_BITS`
 * flags each byte of `w` below `n` (n <= 0x80): a borrow starts only at such a byte and runs only
 * towards later bytes (those it can flag wrongly), and a byte at or above 0x80 clears its own flag
 * through `~w`. A byte equal to `c` is a zero byte of `w ^ c`, that is one below 1.
 */
export function specialFlags(word: number): number {
  const quote = word ^ QUOTES;
  const backslash = word ^ BACKSLASHES;
  return (((word - CONTROL_LIMIT) & ~word) | ((quote - ONES) & ~quote) | ((backslash - ONES) & ~backslash)) & HIGH_BITS;
}

/** The place (0 to 3) of the first flagged byte of a little-endian word: its lowest flag. */
export function firstFlagged(flags: number): number {
  return (31 - Math.clz32(flags & -flags)) >> 3;
}

/**
 * Copies the plain bytes from `src` at `from` to `out` at `to`, a word at a time, reading no byte
 * after `last`; returns how many it copied. It stops at the first special byte: the word that
 * holds it is written whole (the caller overwrites the bytes after the plain ones, so `out` needs
 * room for up to 3 more) and the flags give the special byte's place in it, the first flag of a
 * little-endian word being its lowest bit. In an escape-dense string (JSON quoted inside JSON)
 * this ends most runs without a byte-by-byte loop. Within 3 bytes of `last` it leaves the rest to
 * the caller. Words are read and written in the same byte order; signed reads keep V8 in 32-bit
 * integers.
 */
export function copyPlainWords(
  src: DataView<ArrayBufferLike>,
  from: number,
  last: number,
  out: DataView<ArrayBufferLike>,
  to: number,
): number {
  let n = 0;
  while (from + n + 3 <= last) {
    const word = src.getInt32(from + n, true);
    out.setInt32(to + n, word, true);
    const flags = specialFlags(word);
    if (flags !== 0) return n + firstFlagged(flags);
    n += 4;
  }
  return n;
}

/** Bytes known in advance (a field's key), with their whole words as the loops here read them. */
export interface KnownBytes {
  bytes: Uint8Array;
  /** The first `4 * words.length` bytes, four at a time, little-endian. */
  words: Int32Array;
}

export function knownBytes(bytes: Uint8Array): KnownBytes {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const words = new Int32Array(bytes.length >> 2);
  for (let w = 0; w < words.length; w++) words[w] = view.getInt32(w * 4, true);
  return { bytes, words };
}

/** Whether `src` holds `known` at `from`, which has room for all of it: word by word, then byte by byte. */
export function holdsKnown(src: DataView, from: number, known: KnownBytes): boolean {
  const { bytes, words } = known;
  let k = 0;
  for (let w = 0; w < words.length; w++, k += 4) if (src.getInt32(from + k, true) !== words[w]) return false;
  for (; k < bytes.length; k++) if (src.getUint8(from + k) !== bytes[k]) return false;
  return true;
}

/** Writes `known` at `to`, which has room for all of it. */
export function writeKnown(out: DataView, to: number, known: KnownBytes): void {
  const { bytes, words } = known;
  let k = 0;
  for (let w = 0; w < words.length; w++, k += 4) out.setInt32(to + k, words[w]!, true);
  for (; k < bytes.length; k++) out.setUint8(to + k, bytes[k]!);
}
