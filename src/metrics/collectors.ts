/**
 * Metrics read from their source when scraped, not counted on the hot path: a counter is reset and
 * set to the source's number, so the metrics and the summary are the same numbers.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** Ack latency, from a local receiver's milliseconds to an aggregator's ack timeout: the pool's and each server's. */
export const ACK_LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function counter<S>(registry: Registry, sources: S, name: string, help: string, read: (s: S) => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read(sources));
    },
  });
}

export function labelledCounter<S>(
  registry: Registry,
  sources: S,
  name: string,
  help: string,
  label: string,
  read: (s: S) => Record<string, number>,
): void {
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, n] of Object.entries(read(sources))) this.inc({ [label]: value }, n);
    },
  });
}

export function gauge<S>(registry: Registry, sources: S, name: string, help: string, read: (s: S) => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read(sources));
    },
  });
}
