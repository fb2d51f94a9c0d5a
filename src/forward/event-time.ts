/**
 * Fluentd's EventTime: msgpack ext type 0 with 8 bytes of payload, uint32 seconds then uint32
 * nanoseconds, both big-endian. Whole seconds alone (an integer time) would lose the platform's
 * nanoseconds, so every event is sent with an EventTime. The codec that teaches @msgpack/msgpack
 * the type is in event-time-codec.ts: the chunk builder writes EventTimes itself, and a reading
 * worker loads no msgpack library.
 */
import { FIXEXT8 } from '../msgpack/types.js';

export const EVENT_TIME_EXT_TYPE = 0;
/** fixext 8 header, type, 8 bytes. */
export const EVENT_TIME_ENCODED_BYTES = 10;
/** The last whole second an EventTime holds: 2106-02-07T06:28:15Z. */
export const LAST_EVENT_SECOND = 0xffffffff;

export class EventTime {
  constructor(
    readonly seconds: number,
    readonly nanoseconds: number,
  ) {}

  /** Whether the time fits the wire format: 1970-01-01 up to 2106-02-07. */
  static representable(seconds: number, nanoseconds: number): boolean {
    return Number.isInteger(seconds) && seconds >= 0 && seconds <= LAST_EVENT_SECOND && nanoseconds >= 0 && nanoseconds < 1e9;
  }
}

/** Writes the 10 encoded bytes of an EventTime into `out` at `offset`. */
export function writeEventTime(out: Buffer, offset: number, seconds: number, nanoseconds: number): number {
  out[offset] = FIXEXT8;
  out[offset + 1] = EVENT_TIME_EXT_TYPE;
  out.writeUInt32BE(seconds, offset + 2);
  out.writeUInt32BE(nanoseconds, offset + 6);
  return offset + EVENT_TIME_ENCODED_BYTES;
}
