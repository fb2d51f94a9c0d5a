/**
 * The fast path of `ship`: one JSON line in, the msgpack record out, validated on the way with the
 * schema's own table and checks. It answers only for a line that is a valid audit record with no
 * warning; for anything else (an invalid or unusual record, a duplicate key, a nested unknown
 * field, a fraction) it declines, and the line goes through JSON.parse and the validator, which
 * give the exact diagnostics. So it decides nothing the validator would decide differently, and
 * its bytes are those MsgpackWriter writes for the parsed record.
 */
import { isUtf8 } from 'node:buffer';
import { JsonScanner } from '../msgpack/json-scanner.js';
import type { MsgpackWriter } from '../msgpack/writer.js';
import { knownBytes, type KnownBytes } from '../msgpack/plain-words.js';
import { kubectlPayloadStart } from '../input/kubectl-prefix.js';
import { classifyUuidBytes, COMMON_METHODS, isIpAddress, isIpv4Bytes, isIpv6Bytes } from '../schema/checks.js';
import { RECORD_FIELDS, USER_INFO_FIELDS, type FieldSpec } from '../schema/fields.js';
import { readTimestamp, type TimestampValue } from '../schema/timestamp.js';
import { FIXMAP, FIXSTR, MAP16, NIL } from '../msgpack/types.js';

/** What the pipeline needs of a record once its bytes are written; valid until the next line. */
export class TranscodedRecord {
  /** The verdict's kind (src/verdict/judge.ts): a valid record, already encoded by the fast path. */
  readonly kind = 'fast';
  seconds = 0;
  nanoseconds = 0;
  /** Where the RequestID bytes lie in the output. */
  idStart = 0;
  idEnd = 0;

  constructor(private readonly out: MsgpackWriter) {}

  /** The RequestID as text, read only when wanted (to drop kubectl's overlap): a UUID is ASCII. */
  requestId(): string {
    return this.out.buf.toString('latin1', this.idStart, this.idEnd);
  }

  /** The record's map header grew after the id was written, and moved it up. */
  moved(by: number): void {
    this.idStart += by;
    this.idEnd += by;
  }
}

/** Whether `buf` holds exactly `bytes` from `start` to `end`. */
function holds(buf: Uint8Array, start: number, end: number, bytes: Uint8Array): boolean {
  if (end - start !== bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (buf[start + i] !== bytes[i]) return false;
  return true;
}

/** The common methods as bytes, so that a Method is checked without decoding it. */
const METHODS = [...COMMON_METHODS].map((m) => Buffer.from(m, 'latin1'));

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;

interface KnownField {
  spec: FieldSpec;
  name: Buffer;
  /** The key as JSON with its colon (`"Host":`), and as msgpack (a fixstr). */
  quoted: KnownBytes;
  packed: KnownBytes;
  bit: number;
}

interface FieldTable {
  /** In the schema's order, which is the order the platform writes them in. */
  inOrder: KnownField[];
  /** By name length, so that a key out of order is compared with a few names at most. */
  byLength: KnownField[][];
}

function fieldTable(fields: readonly FieldSpec[]): FieldTable {
  const table: FieldTable = { inOrder: [], byLength: [] };
  fields.forEach((spec, i) => {
    const name = Buffer.from(spec.name, 'latin1');
    const field = {
      spec,
      name,
      quoted: knownBytes(Buffer.from(`"${spec.name}":`, 'latin1')),
      packed: knownBytes(Buffer.from([FIXSTR | name.length, ...name])),
      bit: 1 << i,
    };
    table.inOrder.push(field);
    (table.byLength[name.length] ??= []).push(field);
  });
  return table;
}

const RECORD_TABLE = fieldTable(RECORD_FIELDS);
const USER_INFO_TABLE = fieldTable(USER_INFO_FIELDS);
const ALL_RECORD_FIELDS = (1 << RECORD_FIELDS.length) - 1;
const ALL_USER_INFO_FIELDS = (1 << USER_INFO_FIELDS.length) - 1;

export class RecordTranscoder {
  private readonly scan: JsonScanner;
  private readonly result: TranscodedRecord;
  /** Each line's timestamp is read into this one object: one a line was a tenth of a backfill's allocation. */
  private readonly time: TimestampValue = { seconds: 0, nanoseconds: 0, utc: false };
  private bodyBytes = -1;
  private size = -1;
  /** Unknown top-level keys of the current line, to find a duplicate among them. */
  private unknownKeys: string[] = [];

  constructor(
    out: MsgpackWriter,
    private readonly strict: boolean,
  ) {
    this.scan = new JsonScanner(out);
    this.result = new TranscodedRecord(out);
  }

  /**
   * Writes the record on `line` at the writer's position and returns its time and ids, or returns
   * null when the line needs the full parser; the caller then rewinds the writer.
   * The result object is reused by the next call.
   */
  transcode(line: Buffer): TranscodedRecord | null {
    return this.transcodeRange(line, 0, line.length, false);
  }

  /**
   * The same for the line held in `buffer` from `start` to `stop`; `utf8` when that range is
   * already known to be valid UTF-8.
   */
  transcodeRange(buffer: Buffer, start: number, stop: number, utf8: boolean): TranscodedRecord | null {
    const scan = this.scan;
    scan.reset(buffer, kubectlPayloadStart(buffer, start, stop), stop);
    this.bodyBytes = -1;
    this.size = -1;
    if (this.unknownKeys.length > 0) this.unknownKeys = [];
    if (!scan.expect(OPEN_BRACE)) return null;
    const seen = this.object(RECORD_TABLE, true);
    if (seen !== ALL_RECORD_FIELDS || scan.peek() !== -1) return null;
    if (this.size !== this.bodyBytes) return null;
    if (!utf8 && !isUtf8(buffer.subarray(start, stop))) return null;
    return this.result;
  }

  /** The members of an object after its `{`; the bit set of known fields seen, or -1 to decline. */
  private object(fields: FieldTable, topLevel: boolean): number {
    const scan = this.scan;
    const at = scan.beginContainer();
    let count = 0;
    let seen = 0;
    if (scan.peek() === CLOSE_BRACE) {
      scan.pos++;
    } else {
      for (;;) {
        const known = this.nextKey(fields, count);
        if (known === undefined) return -1;
        if (known) {
          if (seen & known.bit) return -1; // JSON.parse keeps the last value, at the first position
          seen |= known.bit;
          scan.raw(known.packed);
          if (!this.field(known.spec)) return -1;
        } else {
          if (!topLevel || this.strict || !this.unknownKey()) return -1;
          scan.writeKey();
          if (!scan.flatValue()) return -1;
        }
        count++;
        if (scan.expect(COMMA)) continue;
        if (scan.expect(CLOSE_BRACE)) break;
        return -1;
      }
    }
    const moved = scan.endContainer(at, count, FIXMAP, MAP16);
    if (topLevel && moved > 0) this.result.moved(moved);
    return seen;
  }

  /**
   * The next key and its colon: a known field, null for an unknown key (read by `key()`),
   * undefined to decline. The expected key is compared with its colon in one go, as the platform
   * writes them; anything else (whitespace before the colon, another key) is read the long way.
   */
  private nextKey(fields: FieldTable, index: number): KnownField | null | undefined {
    const expected = fields.inOrder[index];
    if (expected && this.scan.keyIs(expected.quoted)) return expected;
    if (!this.scan.key()) return undefined;
    const known = this.lookup(fields.byLength);
    return this.scan.expect(COLON) ? known : undefined;
  }

  private lookup(fields: KnownField[][]): KnownField | null {
    const { src, keyStart, keyEnd } = this.scan;
    for (const f of fields[keyEnd - keyStart] ?? []) if (holds(src, keyStart, keyEnd, f.name)) return f;
    return null;
  }

  /**
   * An unknown top-level key is kept when JSON.parse would keep it in the same place: not a
   * duplicate, not `__proto__`, and not an integer-like key (which objects order first).
   */
  private unknownKey(): boolean {
    const { src, keyStart, keyEnd } = this.scan;
    const first = src[keyStart];
    if (first !== undefined && first >= 0x30 && first <= 0x39) return false;
    const key = src.toString('utf8', keyStart, keyEnd);
    if (key === '__proto__' || this.unknownKeys.includes(key)) return false;
    this.unknownKeys.push(key);
    return true;
  }

  /** One known field's value, written and checked as the validator would, with no diagnostic. */
  private field(spec: FieldSpec): boolean {
    const scan = this.scan;
    switch (spec.kind) {
      case 'string':
        if (!scan.string()) return false;
        if (spec.name === 'ResponseBody') this.bodyBytes = scan.strEnd - scan.strStart;
        return true;
      case 'non-empty-string':
        return scan.string() && scan.strEnd > scan.strStart;
      case 'uuid':
        if (!scan.string()) return false;
        this.result.idStart = scan.strStart;
        this.result.idEnd = scan.strEnd;
        return classifyUuidBytes(scan.out.buf, scan.strStart, scan.strEnd) === 'v4';
      case 'method':
        return scan.string() && this.commonMethod();
      case 'ip':
        if (!scan.string()) return false;
        return (
          isIpv4Bytes(scan.out.buf, scan.strStart, scan.strEnd) ||
          isIpv6Bytes(scan.out.buf, scan.strStart, scan.strEnd) ||
          isIpAddress(scan.out.buf.toString('latin1', scan.strStart, scan.strEnd))
        );
      case 'status': {
        const status = scan.integer();
        return status >= 100 && status <= 599;
      }
      case 'size':
        this.size = scan.integer();
        return this.size >= 0;
      case 'timestamp':
        return scan.string() && this.timestamp();
      case 'string-array-or-null':
        return scan.peek() === OPEN_BRACKET ? scan.array(true) : scan.literal() && scan.out.buf[scan.out.pos - 1] === NIL;
      case 'user-info':
        if (!scan.expect(OPEN_BRACE)) return false;
        return this.object(USER_INFO_TABLE, false) === ALL_USER_INFO_FIELDS;
    }
  }

  private commonMethod(): boolean {
    const { out, strStart, strEnd } = this.scan;
    // A loop, not METHODS.some: its closure was a sixth of what a backfill allocated.
    for (let m = 0; m < METHODS.length; m++) if (holds(out.buf, strStart, strEnd, METHODS[m]!)) return true;
    return false;
  }

  private timestamp(): boolean {
    const { out, strStart, strEnd } = this.scan;
    const time = this.time;
    if (readTimestamp(out.buf, strStart, strEnd, time) !== null || !time.utc) return false;
    this.result.seconds = time.seconds;
    this.result.nanoseconds = time.nanoseconds;
    return true;
  }
}
