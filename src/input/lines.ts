/**
 * Splits a byte stream into lines, in batches (one per input chunk) so that per-line async overhead
 * stays off the hot path. Works on bytes, not strings: invalid UTF-8 must stay detectable, and an
 * over-long line is discarded as it streams past instead of being buffered, so memory stays bounded
 * by `maxLineBytes` whatever the input.
 */

import { isUtf8 } from 'node:buffer';
import { squeezePadding } from './nul-padding.js';

export interface Line {
  /** 1-based physical line number in its source. */
  number: number;
  /** The line without `\n`, `\r\n` or a leading BOM; empty when the line was over the limit. */
  bytes: Buffer;
  /** The line's full length in bytes when it exceeded the limit, else 0. */
  overLimit: number;
  /** Offset in the (decoded) stream just past this line's end of line: where a resume starts. */
  end: number;
  /** Set on a last line that the stream ended without an end of line (absent on all others). */
  unterminated?: true;
  /**
   * NULs of zero padding not in `bytes`: a run that would have taken the line over the limit is
   * kept at PADDING_RUN bytes (src/input/nul-padding.ts). Absent when none were.
   */
  squeezed?: number;
}

export interface SplitOptions {
  maxLineBytes: number;
  /** Where a resumed stream starts: the offset of its first byte, and the lines before it. */
  resume?: { offset: number; line: number };
}

/** 4 MiB: room for a large ResponseBody while keeping every record well inside one 8 MB Fluentd chunk. */
export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

/**
 * A line as the splitter hands it on: where it lies in the chunk it was read in, its bytes made a
 * Buffer of their own only when asked for. The fast path reads the range: a view a line was the
 * largest single cost in what a backfill allocated.
 */
export class SplitLine implements Line {
  declare unterminated?: true;
  declare squeezed?: number;
  private view: Buffer | null = null;

  constructor(
    readonly number: number,
    /** The memory the line lies in, from `start` to `stop`: the chunk read, or a copy for a line that ran over chunks. */
    readonly buffer: Buffer,
    readonly start: number,
    readonly stop: number,
    readonly overLimit: number,
    readonly end: number,
    /** True when the line is known to be valid UTF-8 (its whole chunk was checked at once). */
    readonly utf8: boolean,
  ) {}

  get bytes(): Buffer {
    return (this.view ??= this.buffer.subarray(this.start, this.stop));
  }
}

const NEWLINE = 0x0a;
const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const EMPTY = Buffer.alloc(0);

class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes of the current line already discarded because it ran over the limit. */
  private discarded = 0;
  /** NULs of zero padding dropped from the current line to keep it within the limit. */
  private squeezed = 0;
  private lineNumber: number;
  private consumed: number;

  constructor(
    private readonly maxLineBytes: number,
    resume: { offset: number; line: number } = { offset: 0, line: 0 },
  ) {
    this.consumed = resume.offset;
    this.lineNumber = resume.line;
  }

  push(chunk: Buffer, out: SplitLine[]): void {
    // One check for every whole line of the chunk: a newline is never part of a multi-byte
    // character, so each line of valid UTF-8 is valid UTF-8 (a chunk that fails, or starts inside
    // a character, leaves each line to be checked on its own).
    const utf8 = isUtf8(chunk.subarray(0, chunk.lastIndexOf(NEWLINE) + 1));
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl < 0) break;
      this.finishLine(chunk, start, nl, this.consumed + nl + 1, utf8, out);
      start = nl + 1;
    }
    if (start < chunk.length) this.keep(chunk.subarray(start));
    this.consumed += chunk.length;
  }

  end(out: SplitLine[]): void {
    if (this.pendingBytes === 0 && this.discarded === 0) return;
    this.finishLine(EMPTY, 0, 0, this.consumed, false, out);
    out[out.length - 1]!.unterminated = true;
  }

  private keep(part: Buffer): void {
    // One byte of slack: a line of exactly maxLineBytes may still be followed by its `\r`.
    const over = this.pendingBytes + part.length > this.maxLineBytes + 1;
    if (over && this.discarded === 0 && this.squeeze(part)) return;
    if (this.discarded > 0 || over) {
      this.discarded += this.pendingBytes + part.length + this.squeezed;
      this.squeezed = 0;
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    // Copy: the caller's chunk may be reused, and a small tail must not pin a large chunk.
    this.pending.push(Buffer.from(part));
    this.pendingBytes += part.length;
  }

  /**
   * Keeps the line so far and `part` within the limit by cutting its runs of zero padding (a crash
   * can leave megabytes of them before the next record), or returns false when that is not enough.
   */
  private squeeze(part: Buffer): boolean {
    // A long line with no NUL in it (the usual one) is not copied to find that out.
    if (!part.includes(0) && !this.pending.some((p) => p.includes(0))) return false;
    const { bytes, dropped } = squeezePadding(Buffer.concat([...this.pending, part]));
    if (dropped === 0 || bytes.length > this.maxLineBytes + 1) return false;
    this.squeezed += dropped;
    this.pending = [bytes];
    this.pendingBytes = bytes.length;
    return true;
  }

  /** The line whose last part lies in `buffer` from `start` to `stop`. */
  private finishLine(buffer: Buffer, start: number, stop: number, end: number, utf8: boolean, out: SplitLine[]): void {
    const number = ++this.lineNumber;
    const squeezed = this.squeezed;
    this.squeezed = 0;
    if (this.discarded > 0) {
      out.push(new SplitLine(number, EMPTY, 0, 0, this.discarded + stop - start, end, false));
      this.discarded = 0;
      return;
    }
    if (this.pendingBytes > 0) {
      // A line that ran over chunks: its parts joined in memory of its own, not checked yet.
      buffer = Buffer.concat([...this.pending, buffer.subarray(start, stop)]);
      start = 0;
      stop = buffer.length;
      utf8 = false;
      this.pending = [];
      this.pendingBytes = 0;
    }
    if (stop > start && buffer[stop - 1] === CR) stop--;
    if (number === 1 && stop - start >= BOM.length && buffer.compare(BOM, 0, BOM.length, start, start + BOM.length) === 0) {
      start += BOM.length;
    }
    if (stop - start > this.maxLineBytes) this.overLimit(number, buffer.subarray(start, stop), squeezed, end, out);
    else out.push(withSqueezed(new SplitLine(number, buffer, start, stop, 0, end, utf8), squeezed));
  }

  /** A line over the limit once whole: kept if cutting its runs of zero padding brings it within. */
  private overLimit(number: number, bytes: Buffer, squeezed: number, end: number, out: SplitLine[]): void {
    const cut = squeezePadding(bytes);
    if (cut.dropped > 0 && cut.bytes.length <= this.maxLineBytes) {
      out.push(withSqueezed(new SplitLine(number, cut.bytes, 0, cut.bytes.length, 0, end, false), squeezed + cut.dropped));
    } else {
      out.push(new SplitLine(number, EMPTY, 0, 0, bytes.length + squeezed, end, false));
    }
  }
}

function withSqueezed(line: SplitLine, squeezed: number): SplitLine {
  if (squeezed > 0) line.squeezed = squeezed;
  return line;
}

/** Yields the lines of a byte stream, a batch per chunk read. */
export async function* splitLines(chunks: AsyncIterable<Buffer>, options: SplitOptions): AsyncGenerator<SplitLine[]> {
  const splitter = new LineSplitter(options.maxLineBytes, options.resume);
  for await (const chunk of chunks) {
    const out: SplitLine[] = [];
    splitter.push(chunk, out);
    // Even when empty: the consumer's progress (bytes read) moves on inside a line with no end.
    yield out;
  }
  const out: SplitLine[] = [];
  splitter.end(out);
  if (out.length > 0) yield out;
}
