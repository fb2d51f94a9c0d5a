/**
 * The --since/--until window under which a checkpoint entry's records were shipped. A run with
 * --since skips the records before it, and its checkpoint then marks the file done: a later run
 * asking for those records (no --since, or an earlier one) found the file done and skipped it, and
 * said "every valid record acked". An entry now keeps the bounds that left records of its file
 * out, and a run whose window reaches past them reads the file again from its start.
 */
import type { InputSource } from '../input/sources.js';
import { formatTimestamp, type TimeBound } from '../schema/timestamp.js';

/**
 * A window as an entry keeps it: RFC 3339 UTC times with nine fraction digits, which compare as
 * text; an absent bound is none (nothing was left out on that side).
 */
export interface EntryWindow {
  since?: string;
  until?: string;
}

const text = (bound: TimeBound) => formatTimestamp(bound.seconds, bound.nanoseconds);

/** The window of the bounds given; an undefined one is left out. */
function bounds(since: string | undefined, until: string | undefined): EntryWindow {
  return { ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) };
}

/** A run's window, from its --since and --until. */
export function runWindow(since: TimeBound | null | undefined, until: TimeBound | null | undefined): EntryWindow {
  return bounds(since ? text(since) : undefined, until ? text(until) : undefined);
}

/** The bounds of the run's window (its --since and --until) that left records of `source` out: what its entry must keep. */
export function cutWindow(source: InputSource, { since, until }: { since: TimeBound | null; until: TimeBound | null }): EntryWindow {
  return runWindow(source.cutBy?.since ? since : null, source.cutBy?.until ? until : null);
}

/** The bounds of an entry, alone. */
export function windowOf(entry: EntryWindow | undefined): EntryWindow {
  return bounds(entry?.since, entry?.until);
}

/** Whether a window has no bound: nothing was left out. */
export function unbounded(w: EntryWindow): boolean {
  return w.since === undefined && w.until === undefined;
}

/** Both windows at once: the later since, the earlier until (what was shipped under both). */
export function narrower(a: EntryWindow, b: EntryWindow): EntryWindow {
  const since = a.since === undefined || (b.since !== undefined && b.since > a.since) ? b.since : a.since;
  const until = a.until === undefined || (b.until !== undefined && b.until < a.until) ? b.until : a.until;
  return bounds(since, until);
}

/** Whether what was shipped within `shipped` holds every record `wanted` asks for. */
export function covers(shipped: EntryWindow, wanted: EntryWindow): boolean {
  const sinceHeld = shipped.since === undefined || (wanted.since !== undefined && wanted.since >= shipped.since);
  const untilHeld = shipped.until === undefined || (wanted.until !== undefined && wanted.until <= shipped.until);
  return sinceHeld && untilHeld;
}

/** `--since T --until U`, as the options that made the window. */
export function describeWindow(w: EntryWindow): string {
  return [w.since !== undefined ? `--since ${w.since}` : '', w.until !== undefined ? `--until ${w.until}` : ''].filter(Boolean).join(' ');
}
