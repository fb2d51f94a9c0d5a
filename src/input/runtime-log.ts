/**
 * Lines as container runtimes write them to their own log files, made the lines they carry. CRI
 * (the kubelet's files under `/var/log/pods/`) puts a time, the stream and a tag before each line,
 * read as a prefix (src/input/kubectl-prefix.ts). Docker's json-file driver writes each line as
 * `{"log":"LINE\n","stream":"stdout","time":"…"}`. Both write a line over 16 KiB in parts: CRI
 * tags each but the last `P`, and Docker ends only the last part's `log` with `\n`. An audit record
 * with a large ResponseBody is such a line; read entry by entry, each part was an invalid line or
 * an application log, and Docker's entries were all skipped as application logs. A runtime writes
 * both streams to one file, so another stream's entries can come between the parts of a line:
 * parts are joined per stream. kubectl's own output is whole. So are the lines `audit-ship receive`
 * writes (`{"tag":…,"time":…,"record":{…}}`): what a demo or a test receiver caught can be
 * linted, or shipped on to a real Fluentd.
 */
import { criEntry, criTag } from './kubectl-prefix.js';
import { SplitLine, type Line } from './lines.js';
import { isPlainObject } from '../plain-object.js';

const DOCKER_HEAD = Buffer.from('{"log":"');
const RECEIVED_HEAD = Buffer.from('{"tag":"');
const RECORD_KEY = ',"record":';

/** A runtime's entry: the text it carries, its stream, and whether it ends its line. */
interface Part {
  text: Buffer;
  stream: string;
  last: boolean;
}

/** A json-file entry, or null when the line is no such entry. */
function dockerPart(bytes: Buffer): Part | null {
  let entry: { log?: unknown; stream?: unknown };
  try {
    entry = JSON.parse(bytes.toString('utf8')) as typeof entry;
  } catch {
    return null;
  }
  if (typeof entry.log !== 'string' || typeof entry.stream !== 'string') return null;
  const last = entry.log.endsWith('\n');
  return { text: Buffer.from(last ? entry.log.slice(0, -1) : entry.log), stream: entry.stream, last };
}

/**
 * The record of a line `audit-ship receive` wrote, or null when the line is no such event. The
 * record's own bytes, as written after its tag and time, so that the validator judges them as they
 * are (a duplicate key included); the record of an event in another layout is read re-encoded.
 */
function receivedRecord(bytes: Buffer): Buffer | null {
  let event: { tag?: unknown; time?: unknown; record?: unknown; metadata?: unknown };
  try {
    event = JSON.parse(bytes.toString('utf8')) as typeof event;
  } catch {
    return null;
  }
  const { tag, time, record, metadata } = event;
  if (typeof tag !== 'string' || typeof time !== 'string' || !isPlainObject(record)) return null;
  // An event a Fluent Bit client sent with metadata has it after the record.
  const withMetadata = isPlainObject(metadata);
  if (Object.keys(event).length !== (withMetadata ? 4 : 3)) return null;
  if (withMetadata) return Buffer.from(JSON.stringify(record));
  const head = Buffer.from(JSON.stringify({ tag, time }).slice(0, -1) + RECORD_KEY);
  const exact = bytes.length > head.length && bytes[bytes.length - 1] === 0x7d && startsWith(bytes, 0, bytes.length, head);
  return exact ? bytes.subarray(head.length, bytes.length - 1) : Buffer.from(JSON.stringify(record));
}

/** A CRI entry, or null for a line without the runtime's prefix. */
function criPart(bytes: Buffer): Part | null {
  const entry = criEntry(bytes);
  return entry && { text: bytes.subarray(entry.at), stream: entry.stream, last: entry.tag === 'F' };
}

function startsWith(b: Buffer, start: number, stop: number, head: Buffer): boolean {
  return stop - start >= head.length && b.compare(head, 0, head.length, start, start + head.length) === 0;
}

/** Whether the line may be an entry to take: a json-file entry, an event `receive` wrote, or a CRI part. */
function isEntry(b: Buffer, start: number, stop: number): boolean {
  // Asked of every line: the third byte tells most records (`{"Host"…`) from both heads before a compare.
  const third = b[start + 2];
  if (third === 0x6c) return startsWith(b, start, stop, DOCKER_HEAD);
  if (third === 0x74) return startsWith(b, start, stop, RECEIVED_HEAD);
  return criTag(b, start, stop) === 'P';
}

/** The parts of one stream's line read so far. */
interface Pending {
  parts: Buffer[];
  length: number;
  first: number;
  /** Where the last part taken ends. */
  end: number;
  /** NULs of zero padding the line reader cut from the parts (Line.squeezed). */
  squeezed: number;
}

export class RuntimeLogJoiner {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly maxLineBytes: number) {}

  /** Whether parts of a line wait for their last one: positions must stay before the first of them. */
  get waiting(): boolean {
    return this.pending.size > 0;
  }

  /** Whether `line` must go through take(): a runtime's entry, or any line while parts wait. Cheap on every line. */
  wants(line: Line): boolean {
    if (this.pending.size > 0) return true;
    // The range of a line read in a chunk, never a view of it: an object a line was a tenth of
    // what a backfill allocated.
    if (line instanceof SplitLine) return isEntry(line.buffer, line.start, line.stop);
    return isEntry(line.bytes, 0, line.bytes.length);
  }

  /**
   * The line `line` carries (a split one numbered as its first part, ending where its last one
   * ends), or null while it is a part and its line goes on.
   */
  take(line: Line): Line | null {
    if (line.overLimit > 0) return line;
    if (startsWith(line.bytes, 0, line.bytes.length, RECEIVED_HEAD)) {
      const record = receivedRecord(line.bytes);
      if (record !== null) return { ...copyOf(line), bytes: record };
    }
    const part = (line.bytes[0] === 0x7b ? dockerPart(line.bytes) : null) ?? criPart(line.bytes);
    if (part === null) return line;
    let waiting = this.pending.get(part.stream);
    if (!waiting && part.last) return { ...copyOf(line), bytes: part.text };
    if (!waiting) this.pending.set(part.stream, (waiting = { parts: [], length: 0, first: line.number, end: 0, squeezed: 0 }));
    waiting.end = line.end;
    waiting.length += part.text.length;
    waiting.squeezed += line.squeezed ?? 0;
    // Past the limit the parts are let go: the line is reported by its length, as an over-long one is.
    if (waiting.length <= this.maxLineBytes) waiting.parts.push(Buffer.from(part.text));
    else waiting.parts = [];
    if (!part.last) return null;
    this.pending.delete(part.stream);
    return this.whole(waiting, line.end, line.unterminated === true);
  }

  /** At the end of the input: each stream's parts no last part came for, as a line without its end. */
  rest(): Line[] {
    const lines = [...this.pending.values()].sort((a, b) => a.first - b.first).map((w) => this.whole(w, w.end, true));
    this.pending.clear();
    return lines;
  }

  private whole(w: Pending, end: number, unterminated: boolean): Line {
    const over = w.length > this.maxLineBytes;
    const line: Line = { number: w.first, bytes: over ? Buffer.alloc(0) : Buffer.concat(w.parts), overLimit: over ? w.length : 0, end };
    if (unterminated) line.unterminated = true;
    if (w.squeezed > 0 && !over) line.squeezed = w.squeezed;
    return line;
  }
}

/** A line's fields, without the accessors of a line read in a chunk. */
function copyOf(line: Line): Line {
  const copy: Line = { number: line.number, bytes: line.bytes, overLimit: line.overLimit, end: line.end };
  if (line.unterminated) copy.unterminated = true;
  if (line.squeezed) copy.squeezed = line.squeezed;
  return copy;
}
