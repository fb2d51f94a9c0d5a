/**
 * The spool's numbers, kept by the spool and read as they change by the status line, the metrics
 * and the summary: what waits in it, what an earlier run left, and what was set aside or dropped.
 */
export interface SpoolStats {
  chunks: number;
  records: number;
  bytes: number;
  recoveredChunks: number;
  recoveredRecords: number;
  damagedRanges: number;
  damagedBytes: number;
  /**
   * Of the damaged ranges, those with a good chunk after them in their segment: not a write a
   * crash cut (never counted as spooled), but damage to what was spooled. Their records are lost.
   */
  lostRanges: number;
  /**
   * Of the damaged ranges, those left in their segments for want of room on the disk to set them
   * aside: skipped, and set aside (and counted again) by a later start.
   */
  damageLeftInPlace: number;
  droppedChunks: number;
  droppedRecords: number;
  /**
   * Chunks not acked whose segment file was deleted by something other than this spool while
   * they waited (by hand, or a cleaner of old files): found gone when read back, their records lost.
   */
  vanishedChunks: number;
  vanishedRecords: number;
}

/** A spool's numbers before anything is in it. */
export function emptySpoolStats(): SpoolStats {
  const zero = { chunks: 0, records: 0, bytes: 0, recoveredChunks: 0, recoveredRecords: 0 };
  return {
    ...zero,
    damagedRanges: 0,
    damagedBytes: 0,
    lostRanges: 0,
    damageLeftInPlace: 0,
    droppedChunks: 0,
    droppedRecords: 0,
    vanishedChunks: 0,
    vanishedRecords: 0,
  };
}
