/**
 * --retry-timeout: how long work may wait with nothing acked. The clock runs from when the oldest
 * unacked work started waiting (or the last ack): an idle spell before work arrives does not count,
 * nor does waiting for the first connection before anything was asked of it. Timed on the
 * monotonic clock: a step of the wall clock (an NTP correction, a resumed VM) is not a wait.
 */
import { RetryTimeoutError } from './errors.js';
import { span } from '../span.js';

export class RetryClock {
  private since = performance.now();
  /** start() was called and no server has been up since: waiting for a connection is work too. */
  awaitingStart = false;

  constructor(private limitMs: number) {}

  /** Sets the limit and starts the clock now (an outage during the read does not count against it). */
  reset(limitMs: number): void {
    this.limitMs = limitMs;
    this.since = performance.now();
  }

  /** A connection is asked for: unless work or an earlier ask is already waiting, the clock starts now. */
  startWaiting(pending: number): void {
    if (pending === 0 && !this.awaitingStart) this.since = performance.now();
    this.awaitingStart = true;
  }

  /** Work arrives: with none waiting before it, the clock starts now. */
  workArrives(pending: number): void {
    if (pending === 0) this.since = performance.now();
  }

  /** An ack: progress. */
  progress(): void {
    this.since = performance.now();
  }

  /** The error to give up with, when work has waited longer than the limit; null otherwise. */
  expired(pending: number): RetryTimeoutError | null {
    const limit = this.limitMs;
    if (limit <= 0 || (pending === 0 && !this.awaitingStart) || performance.now() - this.since <= limit) return null;
    return new RetryTimeoutError(`nothing could be delivered for ${span(limit)} (--retry-timeout)`);
  }
}
