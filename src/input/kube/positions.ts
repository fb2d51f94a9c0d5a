/**
 * Where each followed pod container stands: the kubelet timestamp of the last line handed to the
 * spool (`kubectl logs --timestamps`), never a record's own Timestamp, which a writer may set
 * anywhere. Kept in `kubectl-positions.json` beside the spool, under the spool's lock, and moved
 * only after the chunk holding those lines is in the spool: a restarted audit-ship resumes every
 * container where it stopped, and a SIGKILL repeats at most the chunks written after the last save.
 * The file is replaced off the main thread, one replace at a time (src/state-file.ts).
 */
import { join } from 'node:path';
import { readStateFile } from '../../durable.js';
import { jsonStateWriter, type StateFileWriter, type WriteGate } from '../../state-file.js';

export const POSITIONS_FILE = 'kubectl-positions.json';

/** A position forgotten once its container has not been seen for this long. */
const FORGET_AFTER_MS = 7 * 24 * 3600 * 1000;

export interface StreamPosition {
  /** The kubelet time of the last line read, as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (compares as text). */
  time: string;
  /** How many lines stamped exactly `time` were read: the next run skips that many at `time`. */
  at: number;
  /**
   * The UID of the pod read: a pod made again under the same name is another, whose kubelet times
   * (another node's clock) say nothing of what was read of this one.
   */
  uid?: string;
}

interface PositionsFile {
  version: 1;
  streams: Record<string, StreamPosition & { seen: string }>;
}

const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** A kubelet timestamp in the one width that compares as text; null if it is not one. */
export function normalTime(stamp: string): string | null {
  const m = STAMP.exec(stamp);
  if (!m) return null;
  const fraction = (m[2] ?? '').padEnd(9, '0');
  if (m[3] === 'Z') return `${m[1]}.${fraction}Z`;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return null;
  return `${new Date(ms).toISOString().slice(0, 19)}.${fraction}Z`;
}

/** The length of a normalised time, `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`. */
export const TIME_BYTES = 30;
const SPACE = 0x20;
const DOT = 0x2e;
const ZULU = 0x5a;
const ZERO = 0x30;
/** The first 19 bytes of a UTC stamp: a '0' stands for any digit, the rest for themselves. */
const UTC_SECONDS = Buffer.from('0000-00-00T00:00:00', 'latin1');
const isDigit = (b: number) => b >= ZERO && b <= 0x39;

/** -1, 0 or 1 as the normalised times `a` and `b` compare. */
export function compareTimes(a: Buffer, b: Buffer): number {
  for (let i = 0; i < TIME_BYTES; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

/**
 * The kubelet time at the start of the `--timestamps` line at `start` of `buf`, normalised into
 * `out` (TIME_BYTES long); false if the line has none. Written into a buffer, not returned as a
 * string: followed pods write thousands of lines a second, and this is read for every one. The
 * kubelet's own form (UTC, `Z`, up to nine fraction digits) is read byte by byte; any other form
 * a stamp may take goes through normalTime(). When it returns false, `out` holds no time.
 */
export function lineTimeInto(buf: Buffer, start: number, end: number, out: Buffer): boolean {
  const limit = Math.min(end, start + 41);
  let space = -1;
  for (let i = start; i < limit; i++) {
    if (buf[i] === SPACE) {
      space = i - start;
      break;
    }
  }
  if (space < 20) return false;
  if (utcStampInto(buf, start, space, out)) return true;
  const time = normalTime(buf.toString('latin1', start, start + space));
  if (time === null) return false;
  out.write(time, 0, TIME_BYTES, 'latin1');
  return true;
}

/** A stamp of `length` bytes at `start` in the kubelet's UTC form, normalised into `out`; false for any other. */
function utcStampInto(buf: Buffer, start: number, length: number, out: Buffer): boolean {
  if (buf[start + length - 1] !== ZULU) return false;
  for (let i = 0; i < UTC_SECONDS.length; i++) {
    const b = buf[start + i]!;
    const want = UTC_SECONDS[i]!;
    if (want === ZERO ? !isDigit(b) : b !== want) return false;
    out[i] = b;
  }
  const digits = length - 21; // after the seconds: '.', the digits, 'Z'
  if (length !== 20 && (buf[start + 19] !== DOT || digits < 1 || digits > 9)) return false;
  out[19] = DOT;
  for (let k = 0; k < 9; k++) {
    const b = k < digits ? buf[start + 20 + k]! : ZERO;
    if (!isDigit(b)) return false;
    out[20 + k] = b;
  }
  out[29] = ZULU;
  return true;
}

export class Positions {
  private readonly state: PositionsFile;
  private readonly file: StateFileWriter;
  readonly path: string;

  /**
   * A replace that finds the disk full waits, as the spool's writes do in a live tail, and
   * `onMessage` says so: the run stopped there (exit 4) while the spool waited for the same disk.
   * The positions trail the spool, so the wait costs a restart more lines to read again, no more.
   */
  constructor(dir: string, fsync: boolean, onMessage: (line: string) => void, writeAfter?: WriteGate) {
    this.path = join(dir, POSITIONS_FILE);
    this.state = readStateFile<PositionsFile>(this.path, 'the kubectl positions', 'positions file', { version: 1, streams: {} }, 'streams');
    const full = {
      onFull: (error: Error) =>
        onMessage(
          `audit-ship: ${error.message}; tried again once a second (meanwhile the positions trail the spool: a restart would read more again, never less)`,
        ),
      // A live tail waits for room for as long as it takes, as its spool does.
      limitMs: 0,
    };
    this.file = jsonStateWriter(this.path, this.state, 'the kubectl positions', fsync, undefined, true, full);
    if (writeAfter) this.file.writeAfter(writeAfter);
    const cutoff = Date.now() - FORGET_AFTER_MS;
    for (const [key, p] of Object.entries(this.state.streams)) if (Date.parse(p.seen) < cutoff) delete this.state.streams[key];
  }

  get(key: string): StreamPosition | null {
    const p = this.state.streams[key];
    return p ? { time: p.time, at: p.at, ...(p.uid ? { uid: p.uid } : {}) } : null;
  }

  /** How many containers have a position. */
  get size(): number {
    return Object.keys(this.state.streams).length;
  }

  /**
   * Moves positions (after their lines are in the spool); they are saved soon after, all in one
   * atomic replace. Throws the error of an earlier save that failed.
   */
  save(moved: Iterable<[string, StreamPosition]>): void {
    const seen = new Date().toISOString();
    for (const [key, p] of moved) this.state.streams[key] = { time: p.time, at: p.at, seen, ...(p.uid ? { uid: p.uid } : {}) };
    this.write();
  }

  /** A container that is gone for good (its pod deleted, read to the end). */
  forget(key: string): void {
    if (!(key in this.state.streams)) return;
    delete this.state.streams[key];
    this.write();
  }

  /** Resolves once the file is at most `behind` saves behind (0: it holds every position moved); rejects with a save that failed. */
  saved(behind = 0): Promise<void> {
    return this.file.saved(behind);
  }

  /** A save waits for disk room now. */
  get waitingForRoom(): boolean {
    return this.file.waitingForRoom;
  }

  /** The run stops: a save waiting for disk room is tried once more, then fails (see StateFileWriter.stopWaiting). */
  stopWaiting(): void {
    this.file.stopWaiting();
  }

  private write(): void {
    this.file.changed();
  }
}
