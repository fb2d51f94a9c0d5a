/**
 * Finds where each msgpack object of a byte stream ends, as the bytes arrive, without decoding it
 * and without copying what came before: every byte is looked at once, and a message's bytes are
 * joined once, when it is whole. Limits are checked at each header, before anything is buffered
 * for it: a length prefix of 4 GB, a million-element array header or a nesting bomb is refused at
 * once. A generic decoder that re-parses its buffer on every packet costs O(n²) on a 64 MB frame.
 */

export interface FrameLimits {
  /** Bytes of one message, at most. */
  maxMessageBytes: number;
  /** Objects (every value, container or not) in one message, at most. */
  maxObjects: number;
  /** Containers nested in one another, at most. */
  maxDepth: number;
}

import * as T from './types.js';

/** The stream broke a limit or is not msgpack; the message says which. */
export class FrameError extends Error {}

/** Header bytes that follow each type byte (0 for the fix* types, whose size is in the type byte). */
const HEADER = new Uint8Array(256);
for (const [type, bytes] of [
  [T.BIN8, 1],
  [T.BIN16, 2],
  [T.BIN32, 4],
  [T.EXT8, 2],
  [T.EXT16, 3],
  [T.EXT32, 5],
  [T.STR8, 1],
  [T.STR16, 2],
  [T.STR32, 4],
  [T.ARRAY16, 2],
  [T.ARRAY32, 4],
  [T.MAP16, 2],
  [T.MAP32, 4],
] as const) {
  HEADER[type] = bytes;
}
/** Payload bytes of fixed-size types. */
const FIXED = new Uint8Array(256);
for (const [type, bytes] of [
  [T.FLOAT32, 4],
  [T.FLOAT64, 8],
  [T.UINT8, 1],
  [T.UINT16, 2],
  [T.UINT32, 4],
  [T.UINT64, 8],
  [T.INT8, 1],
  [T.INT16, 2],
  [T.INT32, 4],
  [T.INT64, 8],
  [T.FIXEXT1, 2],
  [T.FIXEXT2, 3],
  [T.FIXEXT4, 5],
  [T.FIXEXT8, 9],
  [T.FIXEXT16, 17],
] as const) {
  FIXED[type] = bytes;
}

export class FrameReader {
  /** Bytes of the message in progress, from earlier pushes. */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** Payload bytes still to pass over. */
  private skip = 0;
  /** The type byte whose header is being collected, and the header bytes so far. */
  private type = -1;
  private readonly header = Buffer.alloc(5);
  private headerHave = 0;
  /** Items still to come in each open container, innermost last. */
  private readonly open: number[] = [];
  private objects = 0;

  constructor(
    private limits: FrameLimits,
    /** `message`: maxObjects counts per message; `stream`: for everything pushed (the entries of one chunk). */
    private readonly scope: 'message' | 'stream' = 'message',
  ) {}

  /** Changes the limits, from the next message on (a client that has authenticated gets more room). */
  setLimits(limits: FrameLimits): void {
    this.limits = limits;
  }

  /** Whether a message is partly read. */
  get midMessage(): boolean {
    return this.partsBytes > 0;
  }

  /**
   * Takes the next bytes of the stream; returns the messages they complete, each exactly one
   * object. A message may hold on to `chunk` (it is not copied): the caller must not reuse it.
   */
  push(chunk: Buffer): Buffer[] {
    const done: Buffer[] = [];
    let start = 0;
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        if (this.skip > 0) break;
        if (!this.itemDone()) continue;
      } else if (this.type >= 0) {
        this.header[this.headerHave++] = chunk[i++]!;
        if (this.headerHave < HEADER[this.type]!) continue;
        if (!this.afterHeader()) continue;
      } else if (!this.startItem(chunk[i++]!)) {
        continue;
      }
      // A whole message ends at i.
      done.push(this.take(chunk, start, i));
      start = i;
    }
    if (start < chunk.length) this.keep(chunk.subarray(start));
    return done;
  }

  private take(chunk: Buffer, start: number, end: number): Buffer {
    const tail = chunk.subarray(start, end);
    const whole = this.parts.length === 0 ? tail : Buffer.concat([...this.parts, tail], this.partsBytes + tail.length);
    this.parts = [];
    this.partsBytes = 0;
    if (this.scope === 'message') this.objects = 0;
    return whole;
  }

  private keep(part: Buffer): void {
    this.partsBytes += part.length;
    if (this.partsBytes > this.limits.maxMessageBytes) this.tooBig(this.partsBytes);
    this.parts.push(part);
  }

  private tooBig(bytes: number): never {
    throw new FrameError(`a message of over ${bytes} bytes, more than the ${this.limits.maxMessageBytes} allowed`);
  }

  /** Reads a type byte; true when it completes the message. */
  private startItem(b: number): boolean {
    if (++this.objects > this.limits.maxObjects)
      throw new FrameError(`more than the ${this.limits.maxObjects} objects allowed in one message`);
    if (b <= T.POSITIVE_FIXINT_MAX || b >= T.NEGATIVE_FIXINT_MIN || b === T.NIL || b === T.FALSE || b === T.TRUE) return this.itemDone();
    if (b < T.FIXARRAY) return this.container((b - T.FIXMAP) * 2);
    if (b < T.FIXSTR) return this.container(b - T.FIXARRAY);
    if (b < T.NIL) return this.payload(b - T.FIXSTR);
    if (FIXED[b]) return this.payload(FIXED[b]!);
    if (HEADER[b]) {
      this.type = b;
      this.headerHave = 0;
      return false;
    }
    throw new FrameError(`0x${b.toString(16)} is not a msgpack type`);
  }

  /** A header is complete: its length, checked before any of the payload is buffered. */
  private afterHeader(): boolean {
    const type = this.type;
    this.type = -1;
    const h = this.header;
    const size = HEADER[type]!;
    switch (type) {
      case T.EXT8:
      case T.EXT16:
      case T.EXT32: // ext: length, then a type byte
        return this.payload((size === 2 ? h[0]! : size === 3 ? h.readUInt16BE(0) : h.readUInt32BE(0)) + 1);
      case T.ARRAY16:
      case T.ARRAY32:
        return this.container(size === 2 ? h.readUInt16BE(0) : h.readUInt32BE(0));
      case T.MAP16:
      case T.MAP32:
        return this.container((size === 2 ? h.readUInt16BE(0) : h.readUInt32BE(0)) * 2);
      default: // bin and str
        return this.payload(size === 1 ? h[0]! : size === 2 ? h.readUInt16BE(0) : h.readUInt32BE(0));
    }
  }

  private payload(bytes: number): boolean {
    if (bytes > this.limits.maxMessageBytes) this.tooBig(bytes);
    if (bytes === 0) return this.itemDone();
    this.skip = bytes;
    return false;
  }

  private container(items: number): boolean {
    if (items === 0) return this.itemDone();
    if (this.objects + items > this.limits.maxObjects)
      throw new FrameError(`a container of ${items} items: more than the ${this.limits.maxObjects} objects allowed in one message`);
    if (this.open.length >= this.limits.maxDepth) throw new FrameError(`containers nested deeper than ${this.limits.maxDepth}`);
    this.open.push(items);
    return false;
  }

  /** An item is complete: closes the containers it completes; true when the message is whole. */
  private itemDone(): boolean {
    const open = this.open;
    while (open.length > 0) {
      const left = --open[open.length - 1]!;
      if (left > 0) return false;
      open.pop();
    }
    return true;
  }
}

/** Splits a buffer of msgpack objects back to back (a chunk's entries) into them; the limits hold for all of them together. */
export function splitObjects(data: Buffer, limits: Omit<FrameLimits, 'maxMessageBytes'>): Buffer[] {
  const reader = new FrameReader({ ...limits, maxMessageBytes: data.length }, 'stream');
  const all = reader.push(data);
  if (reader.midMessage) throw new FrameError('the entries end in the middle of one');
  return all;
}
