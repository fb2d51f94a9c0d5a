/**
 * When a server that refused this client (shared key, credentials, TLS) is tried again while other
 * servers take the chunks: after 30 s, then after a wait that doubles to 5 minutes. A setting fixed
 * on the server (an aggregator rollout that reached one replica first) is found within minutes, and
 * one that stays wrong costs a handshake every few minutes.
 */
import { Backoff } from '../backoff.js';
import type { ForwardError } from './errors.js';

export const REFUSED_RETRY_MS = 30_000;
export const REFUSED_RETRY_MAX_MS = 300_000;

export class RefusedRetry {
  /** Why the server refused this client at its last try; null once a try gets through. */
  error: ForwardError | null = null;
  /** Without jitter (its random part always 1): the wait said is the wait kept. */
  private readonly waits: Backoff;
  private timer: NodeJS.Timeout | null = null;

  constructor(firstMs = REFUSED_RETRY_MS) {
    this.waits = new Backoff({ initialMs: firstMs, maxMs: REFUSED_RETRY_MAX_MS }, () => 1);
  }

  /** Calls `retry` after the wait, which doubles for the next refusal; returns the wait. */
  schedule(retry: () => void): number {
    const ms = this.waits.next();
    this.cancel();
    this.timer = setTimeout(() => {
      this.timer = null;
      retry();
    }, ms);
    this.timer.unref();
    return ms;
  }

  /** A try got through: the next refusal waits the first wait again. */
  accepted(): void {
    this.error = null;
    this.waits.reset();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
