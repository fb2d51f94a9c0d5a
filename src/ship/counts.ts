/**
 * What a run counts, hop by hop. The summary and the metrics both read these numbers, so they
 * cannot disagree. Every line read ends in exactly one of: valid, invalid, skipped, blank,
 * duplicates, filtered; every valid record is then acked, dropped (drop-oldest) or left in the spool.
 */
export interface ShipCounts {
  lines: number;
  bytesRead: number;
  valid: number;
  invalid: number;
  /** Invalid lines by diagnostic code; a line with several codes counts once under each. */
  invalidByCode: Record<string, number>;
  /** Lines that are not audit records (application logs, stack traces). */
  skipped: number;
  blank: number;
  /** Repeats of a record already read, dropped by RequestID (a restarted kubectl overlaps). */
  duplicates: number;
  /** Valid records outside --since/--until. */
  filtered: number;
  deadLettered: number;
  /**
   * Of those, lines over --max-line-bytes: streamed past, never held, their letter names where
   * each was but cannot hold its text, so they are not kept (on stdin or kubectl, not anywhere).
   */
  deadLetteredWithoutText: number;
  /** Chunks and records written to the spool in full (counted once the write returns). */
  chunksSpooled: number;
  recordsSpooled: number;
  /** Valid records read but never written to the spool: a spool write failed, or the run stopped first. */
  recordsNotSpooled: number;
  chunksSent: number;
  recordsSent: number;
  bytesSent: number;
  chunksAcked: number;
  recordsAcked: number;
  bytesAcked: number;
  /** Connection attempts that failed and were retried. */
  connectRetries: number;
  /** Chunks sent again after a lost connection or an ack timeout, and their records. */
  resends: number;
  recordsResent: number;
  /** Records written to stdout (--stdout). */
  recordsWritten: number;
  /**
   * Files the checkpoint holds as shipped to their end, skipped: counted and said once in the
   * summary, for a cron job over a directory of rotated logs finds hundreds of them every run.
   */
  filesAlreadyShipped: number;
  /**
   * Files left at a fault partway (a truncated gzip, a file replaced mid-run), the files after them
   * read: counted by the thread that reads the inputs in order (not summed from workers).
   */
  filesFailed: number;
}

export function emptyCounts(): ShipCounts {
  return {
    lines: 0,
    bytesRead: 0,
    valid: 0,
    invalid: 0,
    invalidByCode: {},
    skipped: 0,
    blank: 0,
    duplicates: 0,
    filtered: 0,
    deadLettered: 0,
    deadLetteredWithoutText: 0,
    chunksSpooled: 0,
    recordsSpooled: 0,
    recordsNotSpooled: 0,
    chunksSent: 0,
    recordsSent: 0,
    bytesSent: 0,
    chunksAcked: 0,
    recordsAcked: 0,
    bytesAcked: 0,
    connectRetries: 0,
    resends: 0,
    recordsResent: 0,
    recordsWritten: 0,
    filesAlreadyShipped: 0,
    filesFailed: 0,
  };
}
