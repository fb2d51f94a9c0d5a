/**
 * Lines as container runtimes write them to their own log files, made the lines they carry. CRI
 * (the kubelet's files under `/var/log/pods/`) puts a time, the stream and a tag before each line,
 * read as a prefix (src/input/kubectl-prefix.ts). Docker's json-file driver writes each line as
 * `{"log":"LINE\n","stream":"stdout","time":"…"}`. Both write a line over 16 KiB in parts: CRI
 * tags each but the last `P`, and Docker ends only the last part's `log` with `\n`. An audit record
 * with a large ResponseBody is such a line; read entry by entry, each part was an invalid line or
 * an application log, and Docker's entries were all skipped as application logs. kubectl's own
 * output is whole.
 */
import { criTag, kubectlPayloadOffset } from './kubectl-prefix.js';
import { SplitLine, type Line } from './lines.js';

const DOCKER_HEAD = Buffer.from('{"log":"');

/** A line's text and whether it ends the line it is part of; null for no runtime's entry. */
interface Part {
  text: Buffer;
  last: boolean;
}

/** A json-file entry's line, or null when the line is no such entry. */
function dockerPart(bytes: Buffer): Part | null {
  let entry: { log?: unknown; stream?: unknown };
  try {
    entry = JSON.parse(bytes.toString('utf8')) as typeof entry;
  } catch {
    return null;
  }
  if (typeof entry.log !== 'string' || typeof entry.stream !== 'string') return null;
  const last = entry.log.endsWith('\n');
  return { text: Buffer.from(last ? entry.log.slice(0, -1) : entry.log), last };
}

function startsWith(b: Buffer, start: number, stop: number, head: Buffer): boolean {
  return stop - start >= head.length && b.compare(head, 0, head.length, start, start + head.length) === 0;
}

/** Whether the line may be a runtime's entry to take: a json-file entry, or a CRI part. */
function isEntry(b: Buffer, start: number, stop: number): boolean {
  return startsWith(b, start, stop, DOCKER_HEAD) || criTag(b, start, stop) === 'P';
}

export class RuntimeLogJoiner {
  private parts: Buffer[] = [];
  private length = 0;
  private first = 0;
  /** Where the last part taken ends. */
  private end = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Whether `line` must go through take(): a runtime's entry, or any line while parts wait. Cheap on every line. */
  wants(line: Line): boolean {
    if (this.first > 0) return true;
    // The range of a line read in a chunk, never a view of it: an object a line was a tenth of
    // what a backfill allocated.
    if (line instanceof SplitLine) return isEntry(line.buffer, line.start, line.stop);
    return isEntry(line.bytes, 0, line.bytes.length);
  }

  /**
   * The line `line` carries (numbered as its first part, ending where its last one ends), or null
   * while it is a part and the line goes on.
   */
  take(line: Line): Line | null {
    const part = this.partOf(line);
    if (part === null) return line;
    if (this.first === 0) this.first = line.number;
    this.end = line.end;
    this.add(part.text, line.overLimit);
    return part.last ? this.whole(line.end, line.unterminated === true) : null;
  }

  /** At the end of the input: the parts no last part came for, as one line without its end (none, or one). */
  rest(): Line[] {
    return this.first === 0 ? [] : [this.whole(this.end, true)];
  }

  /** What `line` adds, or null for an ordinary line with no parts waiting (handed on as it is). */
  private partOf(line: Line): Part | null {
    if (line.overLimit > 0) return this.first > 0 ? { text: Buffer.alloc(0), last: true } : null;
    const docker = line.bytes[0] === 0x7b ? dockerPart(line.bytes) : null;
    if (docker) return docker;
    const tag = criTag(line.bytes, 0, line.bytes.length);
    if (tag === 'P') return { text: line.bytes.subarray(kubectlPayloadOffset(line.bytes)), last: false };
    // A runtime writes nothing but parts and their last one: any other line ends the parts that wait.
    return this.first > 0 ? { text: line.bytes.subarray(kubectlPayloadOffset(line.bytes)), last: true } : null;
  }

  private add(text: Buffer, overLimit: number): void {
    this.length += overLimit || text.length;
    // Past the limit the parts are let go: the line is reported by its length, as an over-long one is.
    if (overLimit === 0 && this.length <= this.maxLineBytes) this.parts.push(Buffer.from(text));
    else this.parts = [];
  }

  private whole(end: number, unterminated: boolean): Line {
    const over = this.length > this.maxLineBytes;
    const bytes = over ? Buffer.alloc(0) : Buffer.concat(this.parts);
    const line: Line = { number: this.first, bytes, overLimit: over ? this.length : 0, end };
    if (unterminated) line.unterminated = true;
    this.parts = [];
    this.length = 0;
    this.first = 0;
    return line;
  }
}
