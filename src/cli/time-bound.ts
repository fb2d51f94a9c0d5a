/** Values of --since and --until: an RFC 3339 time, a date (midnight UTC), or a span before now. */
import { InvalidArgumentError } from 'commander';
import { LAST_EVENT_SECOND } from '../forward/event-time.js';
import { parseTimestamp } from '../schema/timestamp.js';
import type { TimeBound } from '../schema/timestamp.js';
import { parseDuration } from './options.js';

export function timeBound(value: string, now: () => number = Date.now): TimeBound {
  const text = value.trim();
  // A span before now, in the one duration syntax, and as said aloud ("24h ago", the form --help
  // shows); a bare number is not taken for one.
  const spoken = /^(\d+(?:\.\d+)?\s*(?:ms|s|m|h|d))(?:\s+ago)?$/.exec(text);
  const span = spoken ? parseDuration(spoken[1]!) : null;
  if (span !== null) {
    const ms = now() - span;
    return { seconds: Math.floor(ms / 1000), nanoseconds: (((ms % 1000) + 1000) % 1000) * 1e6 };
  }
  const parsed = parseTimestamp(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (!parsed.ok) {
    throw new InvalidArgumentError(
      'expected an RFC 3339 time (2021-09-22T12:00:00Z), a date (2021-09-22) or a span before now (90m, 24h, 7d, 24h ago).',
    );
  }
  return { seconds: parsed.seconds, nanoseconds: parsed.nanoseconds };
}

/** Value of `sample --start`: whole seconds since the epoch, or any time --since takes. */
export function startSeconds(value: string, now: () => number = Date.now): number {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    // Past this a record's Timestamp could not be written at all (it was an internal error), and
    // no Fluentd event time holds it.
    if (Number(text) > LAST_EVENT_SECOND)
      throw new InvalidArgumentError(
        `expected seconds since the epoch up to ${LAST_EVENT_SECOND} (2106-02-07T06:28:15Z), the last a Fluentd event time holds.`,
      );
    return Number(text);
  }
  try {
    return timeBound(text, now).seconds;
  } catch {
    throw new InvalidArgumentError(
      'expected seconds since the epoch (1632312000), an RFC 3339 time (2021-09-22T12:00:00Z), a date (2021-09-22) or a span before now (90m, 24h, 7d, 24h ago).',
    );
  }
}
