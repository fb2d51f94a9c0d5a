/**
 * Joins the parts of a line that the container runtime split. CRI log files (`/var/log/pods/…`)
 * hold at most 16 KiB of a line per entry: a longer one is written as entries tagged `P`, then a
 * last one tagged `F`. An audit record with a large ResponseBody is such a line; read entry by
 * entry, each part was an invalid line or an application log. kubectl's own output is whole.
 */
import { criTag, kubectlPayloadOffset } from './kubectl-prefix.js';
import { SplitLine, type Line } from './lines.js';

export class CriJoiner {
  private parts: Buffer[] = [];
  private length = 0;
  private first = 0;
  /** Where the last part taken ends. */
  private end = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Whether `line` must go through take(): a part, or any line while parts wait. Cheap on every line. */
  wants(line: Line): boolean {
    if (this.first > 0) return true;
    return line instanceof SplitLine
      ? criTag(line.buffer, line.start, line.stop) === 'P'
      : criTag(line.bytes, 0, line.bytes.length) === 'P';
  }

  /**
   * Null while `line` is a part and the line goes on; the whole line (its text without the
   * runtime's prefix, numbered as its first part, ending where its last one ends) at its last part.
   */
  take(line: Line): Line | null {
    const text = line.overLimit > 0 ? null : line.bytes.subarray(kubectlPayloadOffset(line.bytes));
    if (this.first === 0) this.first = line.number;
    this.end = line.end;
    this.add(text, line.overLimit);
    if (line.overLimit === 0 && criTag(line.bytes, 0, line.bytes.length) === 'P') return null;
    return this.whole(line.end, line.unterminated === true);
  }

  /** At the end of the input: the parts no last part came for, as one line without its end (none, or one). */
  rest(): Line[] {
    return this.first === 0 ? [] : [this.whole(this.end, true)];
  }

  private add(text: Buffer | null, overLimit: number): void {
    this.length += text?.length ?? overLimit;
    // Past the limit the parts are let go: the line is reported by its length, as an over-long one is.
    if (text && this.length <= this.maxLineBytes) this.parts.push(Buffer.from(text));
    else this.parts = [];
  }

  private whole(end: number, unterminated: boolean): Line {
    const over = this.length > this.maxLineBytes;
    const line: Line = {
      number: this.first,
      bytes: over ? Buffer.alloc(0) : Buffer.concat(this.parts),
      overLimit: over ? this.length : 0,
      end,
    };
    if (unterminated) line.unterminated = true;
    this.parts = [];
    this.length = 0;
    this.first = 0;
    return line;
  }
}
