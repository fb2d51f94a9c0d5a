/**
 * Zero padding: a crash while a file is appended to can leave its last blocks zeroed (its size
 * reached the disk, its data did not), and the writer, restarted, appends after the zeros. Blocks
 * end mid-line, so the line there is the start of a record the crash cut, the zeros, and the first
 * record written after the restart. Read as one line, that record was lost with the cut one.
 */
import { count } from '../plural.js';
import type { Line } from './lines.js';

/** A run of NULs this long is padding (NUL is no text); a shorter one only at either end of a line. */
export const PADDING_RUN = 64;

export interface Padded {
  /** The line's text between the runs of padding, each judged as a line of its own. */
  parts: Line[];
  /** NUL bytes dropped. */
  nuls: number;
}

/** The parts of a line that holds zero padding, or null for one that holds none. */
export function splitAtPadding(line: Line): Padded | null {
  const bytes = line.bytes;
  if (line.overLimit > 0 || !bytes.includes(0)) return null;
  const parts: Line[] = [];
  let nuls = 0;
  let from = 0;
  for (const [i, end] of nulRuns(bytes)) {
    if (i === 0 || end === bytes.length || end - i >= PADDING_RUN) {
      if (i > from) parts.push(part(line, bytes.subarray(from, i)));
      nuls += end - i;
      from = end;
    }
  }
  if (nuls === 0) return null;
  if (from < bytes.length) parts.push(part(line, bytes.subarray(from)));
  return { parts, nuls: nuls + (line.squeezed ?? 0) };
}

/**
 * The bytes with each run of padding cut to PADDING_RUN NULs, and how many were dropped: what the
 * line reader keeps of a line whose zeros would take it over the line limit, so that the record
 * written after them is not lost with the line (src/input/lines.ts).
 */
export function squeezePadding(bytes: Buffer): { bytes: Buffer; dropped: number } {
  const kept: Buffer[] = [];
  let dropped = 0;
  let from = 0;
  for (const [i, end] of nulRuns(bytes)) {
    if (end - i > PADDING_RUN) {
      kept.push(bytes.subarray(from, i + PADDING_RUN));
      dropped += end - i - PADDING_RUN;
      from = end;
    }
  }
  if (dropped === 0) return { bytes, dropped };
  kept.push(bytes.subarray(from));
  return { bytes: Buffer.concat(kept), dropped };
}

/** Each run of NULs in `bytes`, from its first NUL to just past its last. */
function* nulRuns(bytes: Buffer): Generator<[number, number]> {
  for (let i = bytes.indexOf(0); i >= 0;) {
    let end = i + 1;
    while (end < bytes.length && bytes[end] === 0) end++;
    yield [i, end];
    i = end < bytes.length ? bytes.indexOf(0, end) : -1;
  }
}

function part(line: Line, bytes: Buffer): Line {
  return { number: line.number, bytes, overLimit: 0, end: line.end };
}

/** What was done with a line's padding, for ship's note and lint's `nul-padding` warning. */
export function describePadding({ parts, nuls }: Padded): string {
  const rest = parts.length > 1 ? `; the ${parts.length} parts around it are judged as lines of their own` : '';
  return `${count(nuls, 'NUL byte')} of zero padding dropped (as a crash can leave; what it replaced is gone)${rest}`;
}
