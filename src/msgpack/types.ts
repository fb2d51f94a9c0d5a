/**
 * The msgpack format's type bytes, named as in the spec
 * (https://github.com/msgpack/msgpack/blob/master/spec.md#formats). Every type byte audit-ship
 * writes or reads is spelled here and nowhere else.
 */
export const POSITIVE_FIXINT_MAX = 0x7f;
export const FIXMAP = 0x80;
export const FIXARRAY = 0x90;
export const FIXSTR = 0xa0;
export const NIL = 0xc0;
/** 0xc1 is never used. */
export const NEVER_USED = 0xc1;
export const FALSE = 0xc2;
export const TRUE = 0xc3;
export const BIN8 = 0xc4;
export const BIN16 = 0xc5;
export const BIN32 = 0xc6;
export const EXT8 = 0xc7;
export const EXT16 = 0xc8;
export const EXT32 = 0xc9;
export const FLOAT32 = 0xca;
export const FLOAT64 = 0xcb;
export const UINT8 = 0xcc;
export const UINT16 = 0xcd;
export const UINT32 = 0xce;
export const UINT64 = 0xcf;
export const INT8 = 0xd0;
export const INT16 = 0xd1;
export const INT32 = 0xd2;
export const INT64 = 0xd3;
export const FIXEXT1 = 0xd4;
export const FIXEXT2 = 0xd5;
export const FIXEXT4 = 0xd6;
export const FIXEXT8 = 0xd7;
export const FIXEXT16 = 0xd8;
export const STR8 = 0xd9;
export const STR16 = 0xda;
export const STR32 = 0xdb;
export const ARRAY16 = 0xdc;
export const ARRAY32 = 0xdd;
export const MAP16 = 0xde;
export const MAP32 = 0xdf;
export const NEGATIVE_FIXINT_MIN = 0xe0;

/** Bytes of the str header for a string of `length` bytes. */
export function strHeaderBytes(length: number): number {
  return length < 32 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
}

/** Writes the smallest str header for `length` bytes at `at`; returns where the bytes go. */
export function writeStrHeader(buf: Buffer, at: number, length: number): number {
  if (length < 32) {
    buf[at] = FIXSTR | length;
    return at + 1;
  }
  if (length < 0x100) {
    buf[at] = STR8;
    buf[at + 1] = length;
    return at + 2;
  }
  if (length < 0x10000) {
    buf[at] = STR16;
    return buf.writeUInt16BE(length, at + 1);
  }
  buf[at] = STR32;
  return buf.writeUInt32BE(length, at + 1);
}

/**
 * The str header at `at`: how many bytes it takes and the string's length after it; null when the
 * byte there is no str type, or the header runs past the end.
 */
export function readStrHeader(buf: Uint8Array, at: number): { header: number; length: number } | null {
  const type = buf[at];
  if (type === undefined) return null;
  if (type >= FIXSTR && type < NIL) return { header: 1, length: type - FIXSTR };
  const header = type === STR8 ? 2 : type === STR16 ? 3 : type === STR32 ? 5 : 0;
  if (header === 0 || at + header > buf.length) return null;
  let length = 0;
  for (let i = 1; i < header; i++) length = length * 256 + buf[at + i]!;
  return { header, length };
}

/** Bytes of a map or array header for `count` entries. */
export function containerHeaderBytes(count: number): number {
  return count < 16 ? 1 : count < 0x10000 ? 3 : 5;
}

/**
 * Writes a fixmap/fixarray header below 16 entries, else the 16- or 32-bit form (`code16`,
 * `code16 + 1`), at `at`; returns where the entries go.
 */
export function writeContainerHeader(buf: Buffer, at: number, count: number, fix: number, code16: number): number {
  if (count < 16) {
    buf[at] = fix | count;
    return at + 1;
  }
  if (count < 0x10000) {
    buf[at] = code16;
    return buf.writeUInt16BE(count, at + 1);
  }
  buf[at] = code16 + 1;
  return buf.writeUInt32BE(count, at + 1);
}

/** The str header for a string of `length` bytes, as its own buffer (for frames written in parts). */
export function strHeader(length: number): Buffer {
  const out = Buffer.allocUnsafe(strHeaderBytes(length));
  writeStrHeader(out, 0, length);
  return out;
}

/** The smallest bin header for `length` bytes. */
export function binHeader(length: number): Buffer {
  if (length < 0x100) return Buffer.from([BIN8, length]);
  const out = Buffer.allocUnsafe(length < 0x10000 ? 3 : 5);
  out[0] = length < 0x10000 ? BIN16 : BIN32;
  if (length < 0x10000) out.writeUInt16BE(length, 1);
  else out.writeUInt32BE(length, 1);
  return out;
}

/** A fixarray header for `count` (under 16) items. */
export function fixarrayHeader(count: number): number {
  return FIXARRAY | count;
}
