/**
 * A msgpack encoder for the values JSON.parse produces (objects, arrays, strings, numbers,
 * booleans, null), writing straight into one growing buffer. It picks the same smallest formats
 * as @msgpack/msgpack, so the bytes are identical, but measures and writes long strings with
 * Node's native UTF-8 code instead of a JavaScript loop: in a profile of `ship`, string encoding
 * was the largest cost after JSON.parse.
 */

import * as T from './types.js';
import { containerHeaderBytes, strHeaderBytes, writeContainerHeader, writeStrHeader } from './types.js';

export { containerHeaderBytes, strHeaderBytes, writeContainerHeader, writeStrHeader };

/** Deeper records are refused: the encoder recurses, and no audit field nests anywhere near this. */
export const MAX_RECORD_DEPTH = 100;

/** A value nests deeper than the limit: nothing of it may be kept. */
export class TooDeepError extends Error {}

/** Strings that fit a fixstr (under 32 bytes) are encoded by a JS loop when ASCII; others natively. */
const SHORT_STRING = 31;

function wordView(buf: Buffer): DataView<ArrayBufferLike> {
  return new DataView(buf.buffer, buf.byteOffset, buf.length);
}

export class MsgpackWriter {
  private memory: Buffer;
  private words: DataView<ArrayBufferLike>;
  pos = 0;

  constructor(
    initialBytes: number,
    private readonly maxDepth: number,
  ) {
    this.memory = Buffer.allocUnsafe(initialBytes);
    this.words = wordView(this.memory);
  }

  /** Where the values are written, from 0 to `pos`. Replaced only by `use()` and growth, which remake `view`. */
  get buf(): Buffer {
    return this.memory;
  }

  /**
   * `buf` as a DataView, for the scanner's word copies: made here, where the buffer changes, so
   * that no string has to ask whether it changed (a check in the hottest function, whose first
   * true answer, at the first chunk, also threw away its optimised code).
   */
  get view(): DataView<ArrayBufferLike> {
    return this.words;
  }

  /** Writes from now on into `buf`, from its start (a chunk taken from a pool). */
  use(buf: Buffer): void {
    this.memory = buf;
    this.words = wordView(buf);
    this.pos = 0;
  }

  ensure(extra: number): void {
    if (this.pos + extra <= this.memory.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.memory.length * 2, this.pos + extra));
    this.memory.copy(next, 0, 0, this.pos);
    this.memory = next;
    this.words = wordView(next);
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** Writes one value; throws TooDeepError past maxDepth (the caller rewinds `pos`). */
  value(v: unknown, depth = 0): void {
    switch (typeof v) {
      case 'string':
        return this.string(v);
      case 'number':
        return this.number(v);
      case 'boolean':
        return this.byte(v ? T.TRUE : T.FALSE);
      case 'object':
        if (v === null) return this.byte(T.NIL);
        if (depth >= this.maxDepth) throw new TooDeepError(`nested deeper than ${this.maxDepth} levels`);
        if (Array.isArray(v)) {
          this.header(v.length, T.FIXARRAY, T.ARRAY16);
          for (const item of v) this.value(item, depth + 1);
        } else {
          const record = v as Record<string, unknown>;
          const keys = Object.keys(record);
          this.header(keys.length, T.FIXMAP, T.MAP16);
          for (const key of keys) {
            this.string(key);
            this.value(record[key], depth + 1);
          }
        }
        return;
      default:
        return this.byte(T.NIL); // undefined and the like: JSON never produces them
    }
  }

  /** The smallest uint form of an integer of 0x80 or more; returns where the next byte goes. */
  private unsigned(b: Buffer, n: number): number {
    const at = this.pos;
    if (n < 0x100) {
      b[at] = T.UINT8;
      b[at + 1] = n;
      return at + 2;
    }
    if (n < 0x10000) return ((b[at] = T.UINT16), b.writeUInt16BE(n, at + 1));
    if (n < 0x100000000) return ((b[at] = T.UINT32), b.writeUInt32BE(n, at + 1));
    return ((b[at] = T.UINT64), b.writeBigUInt64BE(BigInt(n), at + 1));
  }

  /** The smallest int form of an integer below -0x20; returns where the next byte goes. */
  private signed(b: Buffer, n: number): number {
    const at = this.pos;
    if (n >= -0x80) return ((b[at] = T.INT8), b.writeInt8(n, at + 1));
    if (n >= -0x8000) return ((b[at] = T.INT16), b.writeInt16BE(n, at + 1));
    if (n >= -0x80000000) return ((b[at] = T.INT32), b.writeInt32BE(n, at + 1));
    return ((b[at] = T.INT64), b.writeBigInt64BE(BigInt(n), at + 1));
  }

  private header(n: number, fix: number, code16: number): void {
    this.ensure(5);
    this.pos = writeContainerHeader(this.buf, this.pos, n, fix, code16);
  }

  /** Any number, as @msgpack/msgpack picks its format: the smallest integer form, else float64. */
  number(n: number): void {
    this.ensure(9);
    const b = this.buf;
    if (!Number.isSafeInteger(n)) {
      b[this.pos++] = T.FLOAT64;
      this.pos = b.writeDoubleBE(n, this.pos);
    } else if (n >= 0 && n < 0x80) {
      b[this.pos++] = n;
    } else if (n >= 0) {
      this.pos = this.unsigned(b, n);
    } else if (n >= -0x20) {
      b[this.pos++] = 0x100 + n;
    } else {
      this.pos = this.signed(b, n);
    }
  }

  private string(s: string): void {
    if (s.length <= SHORT_STRING && this.shortAscii(s)) return;
    const length = Buffer.byteLength(s, 'utf8');
    this.ensure(5 + length);
    this.pos = writeStrHeader(this.buf, this.pos, length);
    this.pos += this.buf.write(s, this.pos, length, 'utf8');
  }

  /** Encodes a short all-ASCII string in place; false (nothing written) when it is not ASCII. */
  private shortAscii(s: string): boolean {
    this.ensure(1 + s.length);
    const b = this.buf;
    const start = this.pos + 1;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      b[start + i] = c;
    }
    b[this.pos] = T.FIXSTR | s.length;
    this.pos = start + s.length;
    return true;
  }
}
