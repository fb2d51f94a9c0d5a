/**
 * What an earlier run left in the spool directory, read as the spool opens: each segment's damage
 * set aside and counted, segments with nothing left to send removed, and the chunks not yet acked
 * returned, oldest first, to be queued before anything new.
 */
import type { Entry } from './chunk-queue.js';
import type { SegmentFiles } from './segment-files.js';
import { removeSegmentFiles } from './segment-io.js';
import { inspectSegment, listSegments, setAsideDamage } from './segments.js';
import type { SpoolStats } from './stats.js';

export function recoverSegments(dir: string, files: SegmentFiles, stats: SpoolStats): Entry[] {
  const entries: Entry[] = [];
  for (const file of listSegments(dir)) {
    const inspected = inspectSegment(file);
    const segment = setAsideDamage(dir, inspected);
    if (segment.leftInPlace) stats.damageLeftInPlace += segment.damage.length;
    for (const d of segment.damage) {
      stats.damagedRanges++;
      stats.damagedBytes += d.length;
      // A crash mid-append leaves its damage at the end: only what follows a good write is lost.
      if (d.offset + d.length < inspected.data.length) stats.lostRanges++;
    }
    const unacked = segment.frames.filter((f) => !segment.acked.has(f.id));
    if (unacked.length === 0) {
      removeSegmentFiles(file.path);
      files.skip(file.seq);
      continue;
    }
    const s = files.adopt(file.seq, file.path, segment.file.size);
    stats.bytes += s.bytes;
    for (const f of unacked) {
      const { id, count, compressed, tag, entriesOffset, entriesLength } = f;
      entries.push({ id, count, compressed, tag, segment: s, entriesOffset, entriesLength, body: null, state: 'queued' });
      stats.recoveredChunks++;
      stats.recoveredRecords += count;
    }
  }
  return entries;
}
