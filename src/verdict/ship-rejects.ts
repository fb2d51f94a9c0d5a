/**
 * What `ship` refuses in a line the schema accepts, for `lint` to warn of: a CI job that lints
 * logs before they are shipped learns of it there, not from the shipper's exit 5 later. The
 * checks are ship's own (src/ship/accept.ts): the event time's range, and the writer's depth limit.
 */
import { EventTime } from '../forward/event-time.js';
import { MAX_RECORD_DEPTH, TooDeepError, type MsgpackWriter } from '../msgpack/writer.js';
import { diagnostic, type Diagnostic } from '../schema/diagnostic.js';

/** Why `ship` refuses a record's time (time-out-of-range), in its words and in lint's. */
export const TIME_OUT_OF_RANGE = 'Fluentd event times run from 1970-01-01 to 2106-02-07 UTC';
/** Why `ship` refuses a record's depth (too-deep). */
export const TOO_DEEP = `the record nests deeper than ${MAX_RECORD_DEPTH} levels, more than audit-ship encodes`;

/** A warning when `ship` would refuse a Timestamp as the event time (it ships under --time-source now). */
export function timeShipRejects(seconds: number, nanoseconds: number): Diagnostic | null {
  if (EventTime.representable(seconds, nanoseconds)) return null;
  return diagnostic(
    'ship-rejects',
    'Timestamp',
    `\`ship\` rejects this line (time-out-of-range): ${TIME_OUT_OF_RANGE}; \`ship --time-source now\` ships it`,
  );
}

/**
 * A warning when `ship` would refuse a parsed record as nested too deep: it is encoded into
 * `scratch` as ship encodes it, and `scratch.pos` is put back.
 */
export function depthShipRejects(record: Record<string, unknown>, scratch: MsgpackWriter): Diagnostic | null {
  const start = scratch.pos;
  try {
    scratch.value(record);
    return null;
  } catch (error) {
    if (!(error instanceof TooDeepError)) throw error;
    return diagnostic('ship-rejects', null, `\`ship\` rejects this line (too-deep): ${TOO_DEEP}`);
  } finally {
    scratch.pos = start;
  }
}
