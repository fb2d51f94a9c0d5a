/**
 * Detects the prefixes that `kubectl logs` puts before each line, so that captured logs lint and ship
 * as they are: `--prefix` adds `[pod/NAME/CONTAINER] `, `--timestamps` adds an RFC 3339 time and a
 * space (`2021-09-22T12:18:19.269456495Z `). With both, the pod prefix comes first. The container
 * runtime's own log files (CRI: `/var/log/pods/…/0.log`, and the rotated `0.log.*`) put the stream
 * and a tag after the time: `2021-09-22T12:18:19.269456495Z stdout F `; they once read as
 * application logs, skipped without a word. `P` tags a part of a line the runtime split (over
 * 16 KiB): src/input/runtime-log.ts joins them. Fluentd's out_file lines (`TIME<TAB>TAG<TAB>`)
 * are read the same way, and so are syslog files (rsyslog's, as a VM's /var/log/syslog keeps a
 * program's stdout): `Sep 22 12:18:19 HOST TAG: ` or, in its high-precision format, an RFC 3339
 * time before `HOST TAG: `, taken as a prefix only when a JSON object follows it.
 */

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const SPACE = 0x20;
const POD_PREFIX = Buffer.from('[pod/');
/** `2021-09-22T12:18:19Z` is the shortest timestamp kubectl writes; 9 fractional digits the longest. */
const MIN_TIMESTAMP = 20;
const MAX_TIMESTAMP = 36;

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= 0x30 && b <= 0x39;
}

function podPrefixEnd(b: Buffer, from: number, stop: number): number {
  if (
    b[from] !== OPEN_BRACKET ||
    from + POD_PREFIX.length > stop ||
    b.compare(POD_PREFIX, 0, POD_PREFIX.length, from, from + POD_PREFIX.length) !== 0
  ) {
    return from;
  }
  // Within the line only: `b` may be a whole chunk of lines, and a search on into the lines
  // after a line without a `]` would cost each such line the rest of the chunk.
  for (let i = from + POD_PREFIX.length; i < stop; i++) {
    if (b[i] === SPACE) return from;
    if (b[i] === CLOSE_BRACKET) return i + 1 < stop && b[i + 1] === SPACE ? i + 2 : from;
  }
  return from;
}

/** The shape `DDDD-DD-DDTDD:DD:DD[.D…](Z|±HH:MM)` followed by `end` (a space); calendar checks are not needed here. */
function timestampPrefixEnd(b: Buffer, from: number, stop: number, end = SPACE): number {
  if (from + MIN_TIMESTAMP > stop || !isDigit(b[from]) || b[from + 4] !== 0x2d || b[from + 10] !== 0x54) return from;
  const limit = Math.min(stop, from + MAX_TIMESTAMP + 1);
  for (let i = from + MIN_TIMESTAMP - 1; i < limit; i++) {
    // A time ends in `Z` or the offset's last digit.
    if (b[i] === end) return b[i - 1] === 0x5a || isDigit(b[i - 1]) ? i + 1 : from;
  }
  return from;
}

const TAB = 0x09;
/** Longer than any Fluentd tag worth the name; the search for the tab that ends one stops here. */
const MAX_TAG = 1024;

/**
 * Fluentd's out_file writes `TIME<TAB>TAG<TAB>RECORD` (its default format): read, every line was
 * skipped as an application log. The time and the tag are a prefix.
 */
function fluentdPrefixEnd(b: Buffer, from: number, stop: number): number {
  const tag = timestampPrefixEnd(b, from, stop, TAB);
  if (tag === from) return from;
  const limit = Math.min(stop, tag + MAX_TAG);
  for (let i = tag; i < limit; i++) {
    if (b[i] === TAB) return i > tag ? i + 1 : from;
    if (b[i] === SPACE) return from;
  }
  return from;
}

const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
/** A host name is at most 255 bytes, and a syslog tag (`program[pid]`) well under that. */
const MAX_SYSLOG_FIELD = 256;

/** Where the digits of `hh:mm:ss` lie in `Mmm dd hh:mm:ss`. */
const CLOCK_DIGITS = [7, 8, 10, 11, 13, 14];

/** `Mmm dd hh:mm:ss ` (RFC 3164's time, the day padded with a space): where it ends, or `from`. */
function bsdTimeEnd(b: Buffer, from: number, stop: number): number {
  const upper = b[from]! >= 0x41 && b[from]! <= 0x5a;
  if (!upper || from + 16 > stop || b[from + 3] !== SPACE || b[from + 6] !== SPACE || b[from + 15] !== SPACE) return from;
  const day = (b[from + 4] === SPACE || isDigit(b[from + 4])) && isDigit(b[from + 5]);
  const clock = b[from + 9] === COLON && b[from + 12] === COLON && CLOCK_DIGITS.every((k) => isDigit(b[from + k]));
  return day && clock ? from + 16 : from;
}

/** After a syslog time, `HOST TAG: ` when a JSON object follows: where the object starts, or `from`. */
function syslogFieldsEnd(b: Buffer, from: number, stop: number): number {
  // A record straight after the time (kubectl --timestamps): no fields to look for in it.
  if (b[from] === OPEN_BRACE) return from;
  let i = from;
  const hostEnd = Math.min(stop, from + MAX_SYSLOG_FIELD);
  while (i < hostEnd && b[i] !== SPACE) i++;
  if (i === from || i >= hostEnd) return from;
  const tag = i + 1;
  const tagEnd = Math.min(stop, tag + MAX_SYSLOG_FIELD);
  for (i = tag; i + 2 < tagEnd && b[i] !== SPACE; i++) {
    if (b[i] === COLON && b[i + 1] === SPACE) return i > tag && b[i + 2] === OPEN_BRACE ? i + 2 : from;
  }
  return from;
}

/** A syslog line with the BSD time: where its JSON object starts, or `from`. */
function syslogPrefixEnd(b: Buffer, from: number, stop: number): number {
  const fields = bsdTimeEnd(b, from, stop);
  if (fields === from) return from;
  const payload = syslogFieldsEnd(b, fields, stop);
  return payload === fields ? from : payload;
}

const STREAMS = [Buffer.from('stdout '), Buffer.from('stderr ')];
/** `stdout ` or `stderr `, a tag, and a space. */
const CRI_FIELDS = 9;
/** `stdout` or `stderr`. */
const STREAM_NAME = 6;

/** The CRI tag at `from`, after the stream (`F` a full line, `P` a part); null when there is none. */
function tagAt(b: Buffer, from: number, stop: number): 'F' | 'P' | null {
  if (from + CRI_FIELDS > stop || b[from + 8] !== SPACE) return null;
  const tag = b[from + 7] === 0x46 ? 'F' : b[from + 7] === 0x50 ? 'P' : null;
  if (tag === null) return null;
  for (const stream of STREAMS) if (b.compare(stream, 0, stream.length, from, from + stream.length) === 0) return tag;
  return null;
}

/** After a time stamp, the CRI stream and tag when the line has them. */
function criPrefixEnd(b: Buffer, from: number, stop: number): number {
  return tagAt(b, from, stop) === null ? from : from + CRI_FIELDS;
}

/** A CRI entry's stream, its tag, and where its text starts; null for a line without the runtime's prefix. */
export function criEntry(line: Buffer): { stream: string; tag: 'F' | 'P'; at: number } | null {
  const time = timestampPrefixEnd(line, 0, line.length);
  const tag = time === 0 ? null : tagAt(line, time, line.length);
  return tag && { stream: line.toString('latin1', time, time + STREAM_NAME), tag, at: time + CRI_FIELDS };
}

/** The CRI tag of the line held in `b` from `start` to `stop`; null for a line without one. Quick for a line that starts with `{`. */
export function criTag(b: Buffer, start: number, stop: number): 'F' | 'P' | null {
  const time = timestampPrefixEnd(b, start, stop);
  return time === start ? null : tagAt(b, time, stop);
}

/** Where the log payload starts once any kubectl prefixes are skipped (0 when there are none). */
export function kubectlPayloadOffset(line: Buffer): number {
  return kubectlPayloadStart(line, 0, line.length);
}

/** The same for the line held in `b` from `start` to `stop`: where its payload starts, `start` when it has no prefix. */
export function kubectlPayloadStart(b: Buffer, start: number, stop: number): number {
  const afterPod = podPrefixEnd(b, start, stop);
  const afterTime = timestampPrefixEnd(b, afterPod, stop);
  if (afterTime !== afterPod) {
    const afterCri = criPrefixEnd(b, afterTime, stop);
    return afterCri !== afterTime || afterPod !== start ? afterCri : syslogFieldsEnd(b, afterTime, stop);
  }
  if (afterPod !== start) return afterPod;
  const afterFluentd = fluentdPrefixEnd(b, start, stop);
  return afterFluentd !== start ? afterFluentd : syslogPrefixEnd(b, start, stop);
}
