/** The end-of-run summary on stderr: text for people, one JSON object for scripts. */
import type { ShipCounts } from '../ship/counts.js';
import type { SpoolStats } from '../spool/stats.js';
import { formatBytes } from '../size.js';
import { cpuSeconds, peakRssBytes } from './units.js';
import { count, was } from '../plural.js';

export interface ShipSummary extends Omit<ShipCounts, 'invalidByCode'> {
  invalidByCode: Record<string, number>;
  recoveredFromSpool: number;
  dropped: number;
  /** Records lost unsent because their spool file was deleted, or their chunk changed in it, by something other than audit-ship. */
  vanishedFromSpool: number;
  damagedSpoolRanges: number;
  leftInSpool: number;
  seconds: number;
  recordsPerSecond: number;
  peakRssBytes: number;
  /** CPU time of the whole process, user and system, all threads. */
  cpuSeconds: number;
  /** The exit status and, in words, why: see src/cli/exit.ts. */
  exitCode?: number;
  outcome?: string[];
}

export function shipSummary(counts: ShipCounts, spool: SpoolStats, seconds: number): ShipSummary {
  return {
    ...counts,
    recoveredFromSpool: spool.recoveredRecords,
    dropped: spool.droppedRecords,
    vanishedFromSpool: spool.vanishedRecords,
    damagedSpoolRanges: spool.damagedRanges,
    leftInSpool: spool.records,
    seconds,
    recordsPerSecond: counts.recordsAcked / Math.max(seconds, 1e-9),
    peakRssBytes: peakRssBytes(),
    cpuSeconds: cpuSeconds(),
  };
}

export function summaryText(s: ShipSummary): string {
  const skipped = s.skipped + s.blank + s.duplicates + s.filtered;
  const skippedParts = [count(s.skipped, 'not audit record'), `${s.blank} blank`];
  if (s.duplicates > 0) skippedParts.push(count(s.duplicates, 'duplicate'));
  if (s.filtered > 0) skippedParts.push(`${s.filtered} outside --since/--until`);
  const lines = [
    `audit-ship: ${count(s.lines, 'line')} read: ${s.valid} valid, ${s.invalid} invalid` +
      `${s.deadLettered > 0 ? ` (${s.deadLettered} dead-lettered)` : ''}, ${skipped} skipped (${skippedParts.join(', ')})`,
    `${count(s.recordsSent, 'record')} sent, ${s.recordsAcked} acked in ${count(s.chunksAcked, 'chunk')}, ${count(s.resends, 'chunk')} resent` +
      `${s.recoveredFromSpool > 0 ? `, ${s.recoveredFromSpool} recovered from the spool` : ''}` +
      `${s.dropped > 0 ? `, ${s.dropped} dropped (spool full)` : ''}` +
      `${s.vanishedFromSpool > 0 ? `, ${s.vanishedFromSpool} lost (spool files deleted or changed)` : ''}; ${s.leftInSpool} left in spool`,
    `${formatBytes(s.bytesRead)} in ${s.seconds.toFixed(2)} s, ${Math.round(s.recordsPerSecond)} records/s, peak RSS ${formatBytes(s.peakRssBytes)}`,
  ];
  if (s.filesAlreadyShipped > 0) lines.push(`${count(s.filesAlreadyShipped, 'file')} already shipped to the end (checkpoint), skipped`);
  if (s.damagedSpoolRanges > 0)
    lines.push(
      `${count(s.damagedSpoolRanges, 'damaged spool range')} ${was(s.damagedSpoolRanges)} set aside in the spool's damaged/ folder`,
    );
  return lines.join('\n');
}
