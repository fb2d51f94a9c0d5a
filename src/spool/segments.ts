/**
 * The spool directory's files: numbered segments, and the `damaged/` folder where torn or corrupt
 * bytes are set aside (kept, not deleted, so an operator can look at them). Shared by the spool at
 * start and by `audit-ship spool status|verify`.
 */
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSpaceError } from '../durable.js';
import { makeDirectory } from '../make-directory.js';
import { scanSegment, type Damage, type FrameInfo } from './format.js';

export const SEGMENT_SUFFIX = '.seg';
/** Beside each segment: the ids of its chunks already acked, 16 bytes each, so a restart skips them. */
export const ACKS_SUFFIX = '.acks';
export const DAMAGED_DIR = 'damaged';

export interface SegmentFile {
  seq: number;
  path: string;
  size: number;
}

export function segmentName(seq: number): string {
  return `${String(seq).padStart(16, '0')}${SEGMENT_SUFFIX}`;
}

/**
 * The segments in the directory, oldest first. One deleted between the listing and its stat (its
 * chunks acked meanwhile by a running shipper) is left out.
 */
export function listSegments(dir: string): SegmentFile[] {
  const files: SegmentFile[] = [];
  for (const name of readdirSync(dir)) {
    const match = /^(\d{16})\.seg$/.exec(name);
    if (!match) continue;
    const path = join(dir, name);
    const info = statSync(path, { throwIfNoEntry: false });
    if (info) files.push({ seq: Number(match[1]), path, size: info.size });
  }
  return files.sort((a, b) => a.seq - b.seq);
}

export interface InspectedSegment {
  file: SegmentFile;
  data: Buffer;
  frames: FrameInfo[];
  damage: Damage[];
  /** Ids of chunks acked before the segment could be deleted: not to be sent again. */
  acked: Set<string>;
}

function readAcked(segmentPath: string): Set<string> {
  const acked = new Set<string>();
  let data: Buffer;
  try {
    data = readFileSync(`${segmentPath}${ACKS_SUFFIX}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return acked;
    throw error;
  }
  // A torn last id (a crash mid-append) is ignored: that chunk is sent again, never lost.
  for (let at = 0; at + 16 <= data.length; at += 16) acked.add(data.subarray(at, at + 16).toString('base64'));
  return acked;
}

/** inspectSegment, or null for a segment deleted since it was listed. */
export function inspectSegmentIfPresent(file: SegmentFile): InspectedSegment | null {
  try {
    return inspectSegment(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export function inspectSegment(file: SegmentFile): InspectedSegment {
  const data = readFileSync(file.path);
  return { file, data, ...scanSegment(data), acked: readAcked(file.path) };
}

/** Damaged bytes already set aside by earlier runs. */
export function listDamaged(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  try {
    for (const name of readdirSync(join(dir, DAMAGED_DIR))) {
      files++;
      bytes += statSync(join(dir, DAMAGED_DIR, name)).size;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return { files, bytes };
}

/**
 * Moves a segment's damaged ranges to `damaged/<segment>-<offset>.<reason>` and rewrites the
 * segment with its good frames only (atomically, by rename), so the damage is reported once.
 */
export function setAsideDamage(dir: string, segment: InspectedSegment): InspectedSegment & { leftInPlace?: true } {
  if (segment.damage.length === 0) return segment;
  try {
    return moveDamage(dir, segment);
  } catch (error) {
    // On a full disk the damage stays where it is: the good frames are read at their places (a
    // segment found on open is never appended to), and the spool opens, so that delivering them
    // frees room. A spool that filled its disk and was then killed mid-write could not start.
    if (!isSpaceError(error)) throw error;
    rmSync(`${segment.file.path}.tmp`, { force: true });
    return { ...segment, leftInPlace: true };
  }
}

function moveDamage(dir: string, segment: InspectedSegment): InspectedSegment {
  const damagedDir = join(dir, DAMAGED_DIR);
  makeDirectory(damagedDir, 0o700);
  const stem = segmentName(segment.file.seq).replace(SEGMENT_SUFFIX, '');
  for (const d of segment.damage) {
    writeFileSync(join(damagedDir, `${stem}-${d.offset}.${d.reason}`), segment.data.subarray(d.offset, d.offset + d.length), {
      mode: 0o600,
    });
  }
  const good = Buffer.concat(segment.frames.map((f) => segment.data.subarray(f.offset, f.offset + f.length)));
  const temporary = `${segment.file.path}.tmp`;
  writeFileSync(temporary, good, { mode: 0o600 });
  renameSync(temporary, segment.file.path);
  const file = { ...segment.file, size: good.length };
  return { file, data: good, ...scanSegment(good), damage: segment.damage, acked: segment.acked };
}
