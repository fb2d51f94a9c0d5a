/**
 * Reads JSON bytes and writes the same values as msgpack, without building a JavaScript value in
 * between: no string is decoded, a string without escapes is copied as it stands (its JSON bytes
 * are its UTF-8 bytes), and escapes are decoded straight into the output. It covers the subset
 * that audit records use (strings, integers, true/false/null, objects and arrays, which the caller
 * walks) and declines everything else by returning false, leaving the line to the full parser:
 * fractions and exponents, lone surrogates, control bytes, any syntax error. Whatever it accepts,
 * it writes byte for byte as MsgpackWriter writes the value that JSON.parse returns.
 */
import { containerHeaderBytes, strHeaderBytes, writeContainerHeader, writeStrHeader, type MsgpackWriter } from './writer.js';
import { ARRAY16, FALSE, FIXARRAY, NIL, TRUE } from './types.js';
import { copyPlainWords, holdsKnown, writeKnown, type KnownBytes } from './plain-words.js';
import { SIMPLE_ESCAPE, unicodeEscape } from './json-escapes.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** Integers up to 15 digits are exact in a double; longer ones go to the full parser. */
const MAX_INTEGER_DIGITS = 15;

/**
 * 1 for a byte that stands for itself inside a JSON string: not a quote, a backslash or a control
 * byte. One table load per byte is faster than comparisons whose outcome the CPU cannot predict.
 */
const PLAIN = new Uint8Array(256).fill(1);
PLAIN[QUOTE] = 0;
PLAIN[BACKSLASH] = 0;
PLAIN.fill(0, 0, 0x20);

export class JsonScanner {
  /** The JSON being read, from `pos` up to `end`. */
  src: Buffer = Buffer.alloc(0);
  pos = 0;
  end = 0;
  /**
   * The last quote of the text. Every string ends at or before it, so the scanning loops stop
   * there without checking the end of the text at each byte.
   */
  private lastQuote = -1;
  /** Where the last string's bytes were written in the output, from `strStart` to `strEnd`. */
  strStart = 0;
  strEnd = 0;
  /**
   * The word view for copyPlainWords of the whole memory `src` lies in (at `srcBase`), which lines
   * share, so a view is made when the memory changes rather than for every line. The output's
   * view is the writer's own.
   */
  private srcWords: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private srcBase = 0;

  constructor(readonly out: MsgpackWriter) {}

  reset(src: Buffer, start: number, end: number): void {
    this.src = src;
    this.pos = start;
    this.end = end;
    // Searched back only as far as the line's start: `src` may be a whole chunk of lines, and a
    // search that went on into the lines before would make a chunk of lines without a quote cost
    // its length squared. In a record the last quote is a few bytes from the end.
    let lastQuote = end - 1;
    while (lastQuote >= start && src[lastQuote] !== QUOTE) lastQuote--;
    this.lastQuote = lastQuote >= start ? lastQuote : -1;
    if (src.buffer !== this.srcWords.buffer) this.srcWords = new DataView(src.buffer);
    this.srcBase = src.byteOffset;
  }

  /** Skips JSON whitespace; the byte there, or -1 at the end. */
  peek(): number {
    const { src, end } = this;
    let i = this.pos;
    while (i < end) {
      const b = src[i]!;
      if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0a) break;
      i++;
    }
    this.pos = i;
    return i < end ? src[i]! : -1;
  }

  /** Consumes `byte` after optional whitespace; false when something else is there. */
  expect(byte: number): boolean {
    if (this.peek() !== byte) return false;
    this.pos++;
    return true;
  }

  /** Reserves the one-byte header of a map or array; `endContainer` fills it in. */
  beginContainer(): number {
    this.out.ensure(1);
    return this.out.pos++;
  }

  /**
   * Writes the header for `count` entries at `at`, moving the contents up if it needs more room;
   * returns by how many bytes they moved.
   */
  endContainer(at: number, count: number, fix: number, code16: number): number {
    const out = this.out;
    const extra = containerHeaderBytes(count) - 1;
    if (extra > 0) {
      out.ensure(extra);
      out.buf.copyWithin(at + 1 + extra, at + 1, out.pos);
      out.pos += extra;
    }
    writeContainerHeader(out.buf, at, count, fix, code16);
    return extra;
  }

  /**
   * A key without escapes: where its bytes lie in `src` (keyStart to keyEnd), not yet written.
   * False for a key with escapes, which the full parser reads instead.
   */
  key(): boolean {
    if (this.peek() !== QUOTE) return false;
    const src = this.src;
    const start = this.pos + 1;
    if (start > this.lastQuote) return false;
    let i = start;
    let b = src[i]!;
    while (PLAIN[b] === 1) b = src[++i]!;
    if (b !== QUOTE) return false;
    this.keyStart = start;
    this.keyEnd = i;
    this.pos = i + 1;
    return true;
  }

  keyStart = 0;
  keyEnd = 0;

  /**
   * Whether the next bytes are exactly `quoted` (a key as JSON, quotes included, and what follows
   * it, such as its colon); if so they are consumed. Records list their fields in the same order,
   * so the expected key is usually there.
   */
  keyIs(quoted: KnownBytes): boolean {
    if (this.peek() !== QUOTE) return false;
    const pos = this.pos;
    const n = quoted.bytes.length;
    if (pos + n > this.end || !holdsKnown(this.srcWords, this.srcBase + pos, quoted)) return false;
    this.pos = pos + n;
    return true;
  }

  /** Writes bytes already encoded (a key known in advance). */
  raw(packed: KnownBytes): void {
    const out = this.out;
    out.ensure(packed.bytes.length);
    writeKnown(out.view, out.pos, packed);
    out.pos += packed.bytes.length;
  }

  /** Writes the key that `key()` last read. */
  writeKey(): void {
    const { src, keyStart, keyEnd, out } = this;
    const length = keyEnd - keyStart;
    out.ensure(strHeaderBytes(length) + length);
    const buf = out.buf;
    let o = writeStrHeader(buf, out.pos, length);
    for (let i = keyStart; i < keyEnd; i++) buf[o++] = src[i]!;
    out.pos = o;
  }

  /**
   * A string value at `pos` (after whitespace), written; false when it is not one or needs the
   * full parser. Bytes are copied as they are (the caller checks once that the text is UTF-8) and
   * escapes decoded, in one pass: the length is known only at the end, so the bytes are written
   * after a one-byte header and moved up in the rare case that a string needs a longer one.
   */
  string(): boolean {
    if (this.peek() !== QUOTE) return false;
    const { src, out, lastQuote } = this;
    const start = this.pos + 1;
    if (start > lastQuote) return false;
    // Nothing decodes longer than it is written, and the string ends by the last quote; the word
    // copy's last word may run up to 3 bytes past what it keeps, still before that bound.
    out.ensure(5 + lastQuote - start);
    const buf = out.buf;
    const outWords = out.view;
    const { srcWords, srcBase } = this;
    const at = out.pos;
    let o = at + 1;
    let i = start;
    let b: number;
    for (;;) {
      const words = copyPlainWords(srcWords, srcBase + i, srcBase + lastQuote, outWords, o);
      i += words;
      o += words;
      b = src[i]!;
      while (PLAIN[b] === 1) {
        buf[o++] = b;
        b = src[++i]!;
      }
      if (b !== BACKSLASH) {
        if (b !== QUOTE) return false;
        break;
      }
      // The closing quote must still lie ahead, or the scan would run past the last quote.
      if (i + 2 > lastQuote) return false;
      const e = src[i + 1]!;
      const simple = e < 0x80 ? SIMPLE_ESCAPE[e]! : 0;
      if (simple !== 0) {
        buf[o++] = simple;
        i += 2;
      } else {
        if (e !== 0x75 || i + 6 > lastQuote) return false;
        const written = unicodeEscape(src, this.end, i, buf, o);
        if (written < 0) return false;
        o += written;
        i += written === 4 ? 12 : 6;
      }
    }
    const length = o - at - 1;
    const header = strHeaderBytes(length);
    if (header > 1) buf.copyWithin(at + header, at + 1, o);
    writeStrHeader(buf, at, length);
    this.strStart = at + header;
    this.strEnd = this.strStart + length;
    out.pos = this.strEnd;
    this.pos = i + 1;
    return true;
  }

  /** An integer (no fraction, no exponent, at most 15 digits), written; NaN to decline. */
  integer(): number {
    const b0 = this.peek();
    const { src, end } = this;
    let i = this.pos;
    const negative = b0 === MINUS;
    if (negative) i++;
    const first = i;
    let n = 0;
    if (src[i] === DIGIT_0) {
      i++;
    } else {
      while (i < end) {
        const b = src[i]!;
        if (b < DIGIT_0 || b > DIGIT_9) break;
        n = n * 10 + (b - DIGIT_0);
        i++;
      }
    }
    const digits = i - first;
    if (digits === 0 || digits > MAX_INTEGER_DIGITS) return NaN;
    const next = i < end ? src[i]! : 0;
    if (next === 0x2e || next === 0x65 || next === 0x45 || (next >= DIGIT_0 && next <= DIGIT_9)) return NaN;
    this.pos = i;
    const value = negative ? -n : n;
    this.out.number(value);
    return value;
  }

  /** `true`, `false` or `null`, written; false when none of them is there. */
  literal(): boolean {
    const b = this.peek();
    const { src, pos } = this;
    if (b === 0x74 && src[pos + 1] === 0x72 && src[pos + 2] === 0x75 && src[pos + 3] === 0x65) {
      this.out.byte(TRUE);
      this.pos += 4;
    } else if (b === 0x66 && src[pos + 1] === 0x61 && src[pos + 2] === 0x6c && src[pos + 3] === 0x73 && src[pos + 4] === 0x65) {
      this.out.byte(FALSE);
      this.pos += 5;
    } else if (b === 0x6e && src[pos + 1] === 0x75 && src[pos + 2] === 0x6c && src[pos + 3] === 0x6c) {
      this.out.byte(NIL);
      this.pos += 4;
    } else {
      return false;
    }
    return this.pos <= this.end;
  }

  /** A string, integer or literal, written; false when it is none of them. */
  scalar(): boolean {
    const b = this.peek();
    if (b === QUOTE) return this.string();
    if (b === MINUS || (b >= DIGIT_0 && b <= DIGIT_9)) return !Number.isNaN(this.integer());
    return this.literal();
  }

  /** A scalar, or an array of scalars: what an unknown field may hold here. */
  flatValue(): boolean {
    return this.peek() === OPEN_BRACKET ? this.array(false) : this.scalar();
  }

  /** An array of strings (`stringsOnly`) or of scalars, written; false for anything else. */
  array(stringsOnly: boolean): boolean {
    if (this.peek() !== OPEN_BRACKET) return false;
    this.pos++;
    const at = this.beginContainer();
    let count = 0;
    if (this.peek() === CLOSE_BRACKET) {
      this.pos++;
    } else {
      for (;;) {
        if (!(stringsOnly ? this.string() : this.scalar())) return false;
        count++;
        if (this.expect(COMMA)) continue;
        if (this.expect(CLOSE_BRACKET)) break;
        return false;
      }
    }
    this.endContainer(at, count, FIXARRAY, ARRAY16);
    return true;
  }
}
