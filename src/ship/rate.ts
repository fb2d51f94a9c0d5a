/**
 * `--rate N`: at most N records a second, as a token bucket holding a tenth of a second's worth
 * (so bursts stay short), so that a backfill can be replayed without flooding a shared Fluentd.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class RateLimiter {
  private tokens: number;
  private last = performance.now();
  private readonly capacity: number;

  constructor(private readonly perSecond: number) {
    this.capacity = Math.max(1, perSecond / 10);
    this.tokens = this.capacity;
  }

  /** Takes one token, waiting until there is one. */
  async take(): Promise<void> {
    this.refill();
    if (this.tokens < 1) {
      await sleep(((1 - this.tokens) / this.perSecond) * 1000);
      this.refill();
    }
    this.tokens -= 1;
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
  }
}
