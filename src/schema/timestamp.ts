/**
 * RFC 3339 date-time parsing straight to epoch seconds + nanoseconds.
 *
 * Never goes through a JS Date: Date keeps milliseconds only, and the platform writes
 * nanoseconds (`2021-09-22T12:18:19.269456495Z`) that must reach Fluentd's EventTime intact.
 */

export interface TimestampValue {
  /** Seconds since the Unix epoch, UTC. May be negative or beyond uint32 for far dates. */
  seconds: number;
  nanoseconds: number;
  /** True for `Z`/`z`/`+00:00`: the schema asks for UTC. */
  utc: boolean;
}

export interface ParsedTimestamp extends TimestampValue {
  ok: true;
}

export interface TimestampFailure {
  ok: false;
  /** `syntax`: not the RFC 3339 shape; `range`: the shape is right but no such instant exists. */
  reason: 'syntax' | 'range';
  detail: string;
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const MAX_FRACTION_DIGITS = 9;
const DIGIT_0 = 48;

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month]!;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Reads `count` ASCII digits at `at`, or -1 when any of them is not a digit. */
function digits(b: Uint8Array, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = b[i]! - DIGIT_0;
    if (!(d >= 0 && d <= 9)) return -1;
    n = n * 10 + d;
  }
  return n;
}

function syntax(detail: string): TimestampFailure {
  return { ok: false, reason: 'syntax', detail };
}

function range(detail: string): TimestampFailure {
  return { ok: false, reason: 'range', detail };
}

const SHAPE = 'expected RFC 3339 date-time like 2021-09-22T12:18:19.269456495Z';
const DASH = 0x2d;
const COLON = 0x3a;
const DOT = 0x2e;
/** Stands in for every non-ASCII character, so that none is taken for a digit or a separator. */
const NOT_ASCII = 0x7f;

/** Bytes of a failing timestamp, quoted in its diagnostic; always ASCII where it is read. */
function text(b: Uint8Array, from: number, to: number): string {
  return Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('latin1');
}

/** Parses a timestamp held as text. */
export function parseTimestamp(s: string): ParsedTimestamp | TimestampFailure {
  // eslint-disable-next-line no-control-regex -- the ASCII range, NUL included, on purpose
  const bytes = Buffer.from(s.replace(/[^\x00-\x7f]/g, String.fromCharCode(NOT_ASCII)), 'latin1');
  return parseTimestampBytes(bytes, 0, bytes.length);
}

/** Parses the timestamp in `b` from `start` to `end` (bytes, as read from a JSON line). */
export function parseTimestampBytes(b: Uint8Array, start: number, end: number): ParsedTimestamp | TimestampFailure {
  const value: ParsedTimestamp = { ok: true, seconds: 0, nanoseconds: 0, utc: false };
  return readTimestamp(b, start, end, value) ?? value;
}

/**
 * The one timestamp parser, which both forms above use: reads the timestamp in `b` from `start`
 * to `end` into `into` and returns null, or returns why it is not one (`into` is then unchanged).
 * The fast path passes the same object for every line, so that a valid line allocates nothing here.
 */
export function readTimestamp(b: Uint8Array, start: number, end: number, into: TimestampValue): TimestampFailure | null {
  const length = end - start;
  if (length < 20) return syntax(SHAPE);
  const year = digits(b, start, 4);
  const month = digits(b, start + 5, 2);
  const day = digits(b, start + 8, 2);
  const hour = digits(b, start + 11, 2);
  const minute = digits(b, start + 14, 2);
  const second = digits(b, start + 17, 2);
  const sep = b[start + 10];
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return syntax(SHAPE);
  if (b[start + 4] !== DASH || b[start + 7] !== DASH || (sep !== 84 && sep !== 116) || b[start + 13] !== COLON || b[start + 16] !== COLON) {
    return syntax(SHAPE);
  }
  let at = 19;
  let nanoseconds = 0;
  if (b[start + at] === DOT) {
    const first = ++at;
    while (at < length && b[start + at]! >= DIGIT_0 && b[start + at]! <= DIGIT_0 + 9) at++;
    const count = at - first;
    if (count === 0) return syntax(`${SHAPE}: a '.' must be followed by digits`);
    if (count > MAX_FRACTION_DIGITS) return syntax(`at most 9 fractional digits (${count} here)`);
    nanoseconds = digits(b, start + first, count) * 10 ** (MAX_FRACTION_DIGITS - count);
  }
  let offsetMinutes = 0;
  let utc: boolean;
  const zone = at < length ? b[start + at] : -1;
  if ((zone === 0x5a || zone === 0x7a) && at + 1 === length) {
    utc = true;
  } else if ((zone === 0x2b || zone === DASH) && at + 6 === length && b[start + at + 3] === COLON) {
    const oh = digits(b, start + at + 1, 2);
    const om = digits(b, start + at + 4, 2);
    if (oh < 0 || om < 0) return syntax(SHAPE);
    if (oh > 23 || om > 59) return range(`offset ${text(b, start + at, end)} is out of range`);
    offsetMinutes = (zone === DASH ? -1 : 1) * (oh * 60 + om);
    // RFC 3339 4.3: -00:00 means "offset unknown", so only +00:00 counts as UTC.
    utc = offsetMinutes === 0 && zone === 0x2b;
  } else {
    return syntax(`${SHAPE}: missing or malformed time zone`);
  }
  if (month < 1 || month > 12) return range(`month ${month} does not exist`);
  if (day < 1 || day > daysInMonth(year, month)) return range(`${year}-${text(b, start + 5, start + 7)} has no day ${day}`);
  if (hour > 23 || minute > 59) return range(`time ${text(b, start + 11, start + 16)} does not exist`);
  let minuteOfDayUtc = hour * 60 + minute - offsetMinutes;
  if (second > 60) return range(`second ${second} does not exist`);
  if (second === 60) {
    // A leap second exists only as the last second of a UTC day.
    minuteOfDayUtc = ((minuteOfDayUtc % 1440) + 1440) % 1440;
    if (minuteOfDayUtc !== 1439) return range('a leap second (:60) is only possible at 23:59:60 UTC');
  }
  // A leap second maps onto the following second, as POSIX time does.
  const seconds = daysFromCivil(year, month, day) * 86400 + (hour * 60 + minute - offsetMinutes) * 60 + second;
  into.seconds = seconds;
  into.nanoseconds = nanoseconds;
  into.utc = utc;
  return null;
}

/** Formats epoch seconds + nanoseconds as RFC 3339 UTC with exactly 9 fractional digits. */
export function formatTimestamp(seconds: number, nanoseconds: number): string {
  const iso = new Date(seconds * 1000).toISOString(); // whole seconds only: exact in a Date
  return `${iso.slice(0, 19)}.${String(nanoseconds).padStart(9, '0')}Z`;
}

/** An instant to the nanosecond, for --since and --until. */
export interface TimeBound {
  seconds: number;
  nanoseconds: number;
}

/** Whether the instant (s, ns) lies before the bound; exact to the nanosecond (no float sums). */
export function before(s: number, ns: number, bound: TimeBound): boolean {
  return s < bound.seconds || (s === bound.seconds && ns < bound.nanoseconds);
}
