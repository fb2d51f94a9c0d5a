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
