/**
 * Decodes a client's transport message, in any of the four carrier modes, into events.
 * Pure: used by `audit-ship receive` and by test servers.
 */
import { gunzipSync } from 'node:zlib';
import { Decoder } from '@msgpack/msgpack';
import { EventTime } from './event-time.js';
import { eventTimeCodec } from './event-time-codec.js';
import { splitObjects } from '../msgpack/frame-reader.js';
import { MAX_RECORD_DEPTH } from '../msgpack/writer.js';
import { fixarrayHeader, readStrHeader } from '../msgpack/types.js';
import { asText, type ChunkId, type EventRecord, type Tag } from './protocol.js';
import { isPlainObject } from '../plain-object.js';

export interface DecodedEvent {
  time: EventTime;
  record: EventRecord;
  /** The metadata of an entry in Fluent Bit's `[[time, metadata], record]` form, when not empty. */
  metadata?: EventRecord;
}

export interface DecodedTransport {
  tag: Tag;
  mode: 'message' | 'forward' | 'packed-forward' | 'compressed-packed-forward';
  events: DecodedEvent[];
  chunk: ChunkId | null;
}

/** A message that breaks the protocol; the connection that sent it is closed with this reason. */
export class ProtocolViolation extends Error {}

function toEventTime(time: unknown): EventTime {
  if (time instanceof EventTime) return time;
  if (typeof time === 'number' && Number.isFinite(time) && time >= 0) {
    const seconds = Math.floor(time);
    return new EventTime(seconds, Math.round((time - seconds) * 1e9));
  }
  throw new ProtocolViolation(`event time must be an EventTime or a number, found ${typeof time}`);
}

function toRecord(record: unknown): EventRecord {
  if (!isPlainObject(record) || record instanceof Uint8Array) {
    throw new ProtocolViolation('event record must be a map');
  }
  return record as EventRecord;
}

function toEntry(entry: unknown): DecodedEvent {
  if (!Array.isArray(entry) || entry.length !== 2) throw new ProtocolViolation('entry must be [time, record]');
  const [head, record] = entry as unknown[];
  if (!Array.isArray(head)) return { time: toEventTime(head), record: toRecord(record) };
  // Fluent Bit (2.1 and later) sends its own event form, the time paired with a metadata map.
  if (head.length !== 2) throw new ProtocolViolation('entry must be [time, record] or [[time, metadata], record]');
  const metadata = toRecord(head[1]);
  const event: DecodedEvent = { time: toEventTime(head[0]), record: toRecord(record) };
  if (Object.keys(metadata).length > 0) event.metadata = metadata;
  return event;
}

function option(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ProtocolViolation('option must be a map');
  return value as Record<string, unknown>;
}

function chunkOf(opt: Record<string, unknown>): ChunkId | null {
  const c = opt.chunk;
  if (typeof c === 'string') return c;
  if (c instanceof Uint8Array) return Buffer.from(c).toString('latin1');
  return null;
}

/**
 * What one chunk's entries may hold once inflated (documented in docs/receive.md),
 * checked while inflating and before decoding: a gzip bomb stops at the byte cap, a swarm of tiny
 * entries at the object cap, before a single object is built.
 */
export const ENTRY_LIMITS = {
  maxInflatedBytes: 80 * 1024 * 1024,
  maxObjects: 2_000_000,
  // Whatever `ship` sends is taken: a record as deep as it encodes, inside a Forward message
  // ([tag, entries, option]), its entries array and an entry ([time, record]).
  maxDepth: MAX_RECORD_DEPTH + 3,
};

/** The events of a PackedForward entry stream (gzip or not), within ENTRY_LIMITS. */
export function decodeEntryStream(bytes: Uint8Array, compressed: boolean): DecodedEvent[] {
  let data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (compressed) {
    try {
      // gunzip reads every member of a multi-member stream, as the spec allows.
      data = gunzipSync(data, { maxOutputLength: ENTRY_LIMITS.maxInflatedBytes });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new ProtocolViolation(`compressed entries inflate to over ${ENTRY_LIMITS.maxInflatedBytes} bytes`);
      }
      throw new ProtocolViolation(`compressed entries are not valid gzip: ${(error as Error).message}`);
    }
  }
  let entries: Buffer[];
  try {
    entries = splitObjects(data, ENTRY_LIMITS);
  } catch (error) {
    throw new ProtocolViolation(`entries: ${(error as Error).message}`);
  }
  const decoder = new Decoder({ extensionCodec: eventTimeCodec });
  const events: DecodedEvent[] = [];
  for (const entry of entries) {
    let value: unknown;
    try {
      value = decoder.decode(entry);
    } catch (error) {
      throw new ProtocolViolation(`entries are not a msgpack stream of [time, record]: ${(error as Error).message}`);
    }
    events.push(toEntry(value));
  }
  return events;
}

/**
 * Whether `frame` is a PackedForward message whose entries come as a str. Fluentd's out_forward
 * writes them so (a str32 header before the chunk's msgpack bytes): read as UTF-8 text they would
 * be lost, so such a frame is to be decoded with its strings as bytes (`rawStrings`);
 * decodeTransport reads the tag and the options back as text.
 */
export function entriesInStr(frame: Uint8Array): boolean {
  const head = frame[0];
  // [tag, entries, option?, …]: a fixarray of two to four.
  if (head === undefined || head < fixarrayHeader(2) || head > fixarrayHeader(4)) return false;
  const tag = readStrHeader(frame, 1);
  return tag !== null && readStrHeader(frame, 1 + tag.header + tag.length) !== null;
}

export function decodeTransport(message: unknown): DecodedTransport {
  if (!Array.isArray(message) || message.length < 2 || message.length > 4) {
    throw new ProtocolViolation('expected a transport message [tag, …]');
  }
  const tag = asText(message[0]);
  if (tag === null) throw new ProtocolViolation('tag must be a string');
  const second = message[1];
  if (typeof second === 'string') {
    throw new ProtocolViolation('PackedForward entries read as text, which loses their bytes: decode such a frame with rawStrings');
  }
  if (second instanceof Uint8Array) {
    const opt = option(message[2]);
    const compressed = asText(opt.compressed) === 'gzip';
    return {
      tag,
      mode: compressed ? 'compressed-packed-forward' : 'packed-forward',
      events: decodeEntryStream(second, compressed),
      chunk: chunkOf(opt),
    };
  }
  if (Array.isArray(second)) {
    return { tag, mode: 'forward', events: second.map(toEntry), chunk: chunkOf(option(message[2])) };
  }
  if (message.length < 3) throw new ProtocolViolation('message mode needs [tag, time, record]');
  return {
    tag,
    mode: 'message',
    events: [{ time: toEventTime(second), record: toRecord(message[2]) }],
    chunk: chunkOf(option(message[3])),
  };
}
