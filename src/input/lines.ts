/**
 * Splits a byte stream into lines, in batches (one per input chunk) so that per-line async overhead
 * stays off the hot path. Works on bytes, not strings: invalid UTF-8 must stay detectable, and an
 * over-long line is discarded as it streams past instead of being buffered, so memory stays bounded
 * by `maxLineBytes` whatever the input.
 */

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
}

export interface SplitOptions {
  maxLineBytes: number;
  /** Where a resumed stream starts: the offset of its first byte, and the lines before it. */
  resume?: { offset: number; line: number };
}

/** 4 MiB: room for a large ResponseBody while keeping every record well inside one 8 MB Fluentd chunk. */
export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

const NEWLINE = 0x0a;
const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes of the current line already discarded because it ran over the limit. */
  private discarded = 0;
  private lineNumber: number;
  private consumed: number;

  constructor(
    private readonly maxLineBytes: number,
    resume: { offset: number; line: number } = { offset: 0, line: 0 },
  ) {
    this.consumed = resume.offset;
    this.lineNumber = resume.line;
  }

  push(chunk: Buffer, out: Line[]): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl < 0) break;
      this.finishLine(chunk.subarray(start, nl), this.consumed + nl + 1, out);
      start = nl + 1;
    }
    if (start < chunk.length) this.keep(chunk.subarray(start));
    this.consumed += chunk.length;
  }

  end(out: Line[]): void {
    if (this.pendingBytes === 0 && this.discarded === 0) return;
    this.finishLine(Buffer.alloc(0), this.consumed, out);
    out[out.length - 1]!.unterminated = true;
  }

  private keep(part: Buffer): void {
    // One byte of slack: a line of exactly maxLineBytes may still be followed by its `\r`.
    if (this.discarded > 0 || this.pendingBytes + part.length > this.maxLineBytes + 1) {
      this.discarded += this.pendingBytes + part.length;
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    // Copy: the caller's chunk may be reused, and a small tail must not pin a large chunk.
    this.pending.push(Buffer.from(part));
    this.pendingBytes += part.length;
  }

  private finishLine(tail: Buffer, end: number, out: Line[]): void {
    const number = ++this.lineNumber;
    if (this.discarded > 0) {
      out.push({ number, bytes: Buffer.alloc(0), overLimit: this.discarded + tail.length, end });
      this.discarded = 0;
      return;
    }
    let bytes = this.pendingBytes === 0 ? tail : Buffer.concat([...this.pending, tail]);
    this.pending = [];
    this.pendingBytes = 0;
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
    if (number === 1 && bytes.subarray(0, 3).equals(BOM)) bytes = bytes.subarray(3);
    if (bytes.length > this.maxLineBytes) {
      out.push({ number, bytes: Buffer.alloc(0), overLimit: bytes.length, end });
    } else {
      out.push({ number, bytes, overLimit: 0, end });
    }
  }
}

/** Yields the lines of a byte stream, a batch per chunk read. */
export async function* splitLines(chunks: AsyncIterable<Buffer>, options: SplitOptions): AsyncGenerator<Line[]> {
  const splitter = new LineSplitter(options.maxLineBytes, options.resume);
  for await (const chunk of chunks) {
    const out: Line[] = [];
    splitter.push(chunk, out);
    // Even when empty: the consumer's progress (bytes read) moves on inside a line with no end.
    yield out;
  }
  const out: Line[] = [];
  splitter.end(out);
  if (out.length > 0) yield out;
}
