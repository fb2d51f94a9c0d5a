/**
 * A span of time as a person reads it in a message: "10 s", "2 min", "300 ms", "1.5 s". Options
 * take durations as `10s` or `5m`; a message that echoed one back as "10000 ms" or "120000 ms"
 * left the reader to count the zeros.
 */
export function span(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1000) return `${Math.round(ms) / 1000} s`;
  return `${ms} ms`;
}
