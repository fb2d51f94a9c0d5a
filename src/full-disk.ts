/**
 * Waiting out a full disk (ENOSPC, EDQUOT, EFBIG) as the spool's writes do: a write that finds no
 * room is tried again once a second, said at most once a minute, until it goes through, its limit
 * passes, or the wait is stopped. The state files (src/state-file.ts) and the --dead-letter file
 * (src/ship/dead-letter.ts) wait so.
 */
import { sleep } from './backoff.js';
import { isSpaceError } from './durable.js';

/** How a write waits out a full disk. */
export interface FullDiskWait {
  /**
   * Told when a write finds no room, at most once a minute: a disk that the spool keeps full fills
   * again at almost every write.
   */
  onFull: (error: Error) => void;
  /** How long one fill is waited out before the write fails as any other (0: until the wait is stopped). */
  limitMs: number;
}

/** The shortest time between two notes of a full disk. */
const FULL_NOTE_EVERY_MS = 60_000;

/** One writer's waits for room: each fill is timed from its first failed write; the notes are spaced across fills. */
export class FullDiskRetry {
  /** When the disk was found full (monotonic ms), while it is. */
  private since = -1;
  /** When a full disk was last said (monotonic ms). */
  private saidAt = -Infinity;

  constructor(
    private readonly wait: FullDiskWait,
    /** Aborted, a full disk is no longer waited out, and a pause ends at once. */
    private readonly signal: AbortSignal,
  ) {}

  /**
   * After a write failed for `cause` (the system's error): false when that is no full disk, the
   * fill has outlasted the limit, or the wait was stopped, and the write fails; otherwise true
   * after a pause of a second, `told` said first if a minute has passed since the last note.
   */
  async again(cause: unknown, told: () => Error): Promise<boolean> {
    const now = performance.now();
    if (
      this.signal.aborted ||
      !isSpaceError(cause) ||
      (this.since >= 0 && this.wait.limitMs > 0 && now - this.since >= this.wait.limitMs)
    ) {
      this.since = -1;
      return false;
    }
    if (this.since < 0) this.since = now;
    if (now - this.saidAt >= FULL_NOTE_EVERY_MS) {
      this.saidAt = now;
      this.wait.onFull(told());
    }
    await sleep(1000, this.signal);
    return true;
  }

  /** A write waits for room now: the disk was found full, and the write neither went through nor failed since. */
  get waiting(): boolean {
    return this.since >= 0;
  }

  /** A write went through: a later failure starts a new fill, timed afresh. */
  cleared(): void {
    this.since = -1;
  }
}
