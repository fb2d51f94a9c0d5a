/**
 * A follow that hears nothing for a while is ended, so that it starts again from its position.
 * `kubectl logs -f` can go quiet while the pod writes on: after the node rotates the container's
 * log (kubelets of several releases went on following the file rotated away), or after a load
 * balancer dropped the idle connection without a word. Both look like a pod that writes nothing,
 * and both lose what the node rotates away meanwhile. A new run asks for what came after
 * the position, which costs nothing when the pod was only idle (its few lines at the position are
 * dropped as read). The wait doubles while the container stays silent, run after run, so an idle
 * pod costs a kubectl run now and then, and a pod that writes again is watched closely again.
 */

import { span } from '../../span.js';

/** The wait doubles at most this many times: 30 s becomes 32 minutes. */
export const MAX_SILENCE_DOUBLINGS = 6;

/** How long a follow may hear nothing, after `silentRuns` runs in a row ended in silence with no new line. */
export function silenceWaitMs(baseMs: number, silentRuns: number): number {
  return baseMs * 2 ** Math.min(silentRuns, MAX_SILENCE_DOUBLINGS);
}

/**
 * Watches one follow: `heard()` at each chunk it reads; time while the pipeline holds the reading
 * back (`held`) is not silence. Once `ms` pass with nothing heard, `onSilence` is called, once.
 */
export class SilenceWatch {
  private last = performance.now();
  private holds = 0;
  private readonly timer: NodeJS.Timeout;
  /** The follow was ended for its silence. */
  silenced = false;

  constructor(
    private readonly ms: number,
    onSilence: () => void,
  ) {
    // Checked a few times a wait, not at every chunk: a timer moved at each read cost more than the read.
    this.timer = setInterval(
      () => {
        if (this.holds > 0 || performance.now() - this.last < this.ms) return;
        this.silenced = true;
        this.stop();
        onSilence();
      },
      Math.max(50, Math.min(ms / 4, 5000)),
    ).unref();
  }

  heard(): void {
    this.last = performance.now();
  }

  /** The reading waits for room downstream until `room` settles: no silence meanwhile. */
  held(room: Promise<void>): Promise<void> {
    this.holds++;
    return room.finally(() => {
      this.holds--;
      this.last = performance.now();
    });
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** A container's follows, run after run: how long the next may hear nothing, and what ended them. */
export class QuietRuns {
  /** Follows stopped for their silence, all told. */
  restarts = 0;
  /** Follows in a row stopped for their silence without a new line: each doubles the next wait. */
  private inARow = 0;
  /** The container's restart count when the last follow, stopped for its silence, began; null after any other end. */
  private since: number | null = null;

  /** `baseMs`: --kubectl-silence (0: never). */
  constructor(private readonly baseMs: number) {}

  /** The next follow's wait; 0 for none. */
  get waitMs(): number {
    return this.baseMs === 0 ? 0 : silenceWaitMs(this.baseMs, this.inARow);
  }

  /**
   * Whether a restart looks at the container's previous instance first: not after a follow stopped
   * for its silence with the container not restarted since it began (half the kubectl runs an idle
   * pod costs).
   */
  needsPrevious(instances: number): boolean {
    return this.since !== instances;
  }

  /**
   * A follow begun at restart count `instances` ended, stopped for hearing nothing for `silentFor`
   * ms or not (null), after reading `read` new lines. The wait doubles only over runs that read
   * nothing new: a new line brings it back to the start. Returns what stopped it, for the note.
   */
  ended(silentFor: number | null, read: number, instances: number): string | null {
    this.since = silentFor === null ? null : instances;
    this.inARow = silentFor === null || read > 0 ? 0 : this.inARow + 1;
    if (silentFor === null) return null;
    this.restarts++;
    return `nothing new for ${span(silentFor)} (a follow can go quiet when the node rotates the log): kubectl logs stopped`;
  }
}
