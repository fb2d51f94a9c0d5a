/**
 * A chunk: a batch of encoded `[EventTime, record]` entries with its id, the unit that is spooled,
 * sent as one PackedForward frame and acked. Building one appends into a single growing buffer.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { ChunkBufferPool } from './buffer-pool.js';
import type { ChunkLimits } from './chunk-limits.js';
import { EVENT_TIME_ENCODED_BYTES, writeEventTime } from './event-time.js';
import { MAX_RECORD_DEPTH, MsgpackWriter, TooDeepError } from '../msgpack/writer.js';

export { MAX_RECORD_DEPTH };
import { newChunkId, type ChunkId } from './chunk-id.js';
import { FIXMAP, MAP16, MAP32, fixarrayHeader } from '../msgpack/types.js';

export interface Chunk {
  id: ChunkId;
  /** msgpack stream of entries; gzip-compressed when `compressed`. */
  entries: Buffer;
  count: number;
  compressed: boolean;
  /** Times this chunk was sent again after a lost connection or ack timeout. */
  retries: number;
  /**
   * The Fluentd tag it goes under, set when it is spooled; without one, the sender's. A chunk an
   * earlier run left in the spool keeps the tag it was read under.
   */
  tag?: string;
}

const FIXARRAY_2 = fixarrayHeader(2);

export class ChunkBuilder {
  private readonly out: MsgpackWriter;
  private records = 0;

  constructor(
    private readonly limits: ChunkLimits,
    /** Where chunks are encoded, when the caller gives the memory back once a chunk is acked. */
    private readonly pool: ChunkBufferPool | null = null,
  ) {
    this.out = new MsgpackWriter(pool ? 0 : Math.min(limits.maxBytes, 64 * 1024) + 1024, MAX_RECORD_DEPTH);
    if (pool) this.out.use(pool.take(pool.slabBytes));
  }

  get count(): number {
    return this.records;
  }

  get bytes(): number {
    return this.out.pos;
  }

  /**
   * Appends one entry, encoded in place; a record larger than maxBytes still fits, alone in its
   * chunk. False, with nothing appended, for a record nested deeper than MAX_RECORD_DEPTH levels.
   */
  append(seconds: number, nanoseconds: number, record: unknown): boolean {
    const start = this.beginEntry();
    if (!this.writeRecord(record)) {
      this.cancelEntry(start);
      return false;
    }
    this.endEntry(start, seconds, nanoseconds);
    return true;
  }

  /** Writes a parsed record into the entry begun; false for one nested deeper than MAX_RECORD_DEPTH. */
  writeRecord(record: unknown): boolean {
    try {
      this.out.value(record);
      return true;
    } catch (error) {
      if (error instanceof TooDeepError) return false;
      throw error;
    }
  }

  /**
   * Starts an entry whose record the caller writes into `writer` (the fast path); returns where
   * it starts, for `endEntry` or `cancelEntry`.
   */
  beginEntry(): number {
    const out = this.out;
    const start = out.pos;
    out.ensure(1 + EVENT_TIME_ENCODED_BYTES);
    out.buf[out.pos++] = FIXARRAY_2;
    out.pos += EVENT_TIME_ENCODED_BYTES;
    return start;
  }

  /** Completes the entry begun at `start` with its event time, known only once the record is read. */
  endEntry(start: number, seconds: number, nanoseconds: number): void {
    writeEventTime(this.out.buf, start + 1, seconds, nanoseconds);
    this.records++;
  }

  /**
   * Adds one key and value at the end of the record of the entry begun at `start` (a map just
   * written): its header counts one more, widened to map16 when a fixmap is full.
   */
  appendToRecord(start: number, key: string, value: unknown): void {
    const out = this.out;
    const at = start + 1 + EVENT_TIME_ENCODED_BYTES;
    const header = out.buf[at]!;
    const widen = (to: number, lengthBytes: number, count: number, from: number) => {
      const grow = lengthBytes - from;
      out.ensure(grow);
      out.buf.copyWithin(at + 1 + lengthBytes, at + 1 + from, out.pos);
      out.buf[at] = to;
      if (lengthBytes === 2) out.buf.writeUInt16BE(count, at + 1);
      else out.buf.writeUInt32BE(count, at + 1);
      out.pos += grow;
    };
    if (header >= FIXMAP && header < FIXMAP + 15) out.buf[at] = header + 1;
    else if (header === FIXMAP + 15) widen(MAP16, 2, 16, 0);
    else if (header === MAP16 && out.buf.readUInt16BE(at + 1) < 0xffff) out.buf.writeUInt16BE(out.buf.readUInt16BE(at + 1) + 1, at + 1);
    else if (header === MAP16) widen(MAP32, 4, 0x10000, 2);
    else if (header === MAP32) out.buf.writeUInt32BE(out.buf.readUInt32BE(at + 1) + 1, at + 1);
    else throw new Error(`not a record map: header 0x${header.toString(16)}`);
    out.value(key);
    out.value(value);
  }

  /** Drops the entry begun at `start`, and whatever was written of it. */
  cancelEntry(start: number): void {
    this.out.pos = start;
  }

  /** Where a record begun with `beginEntry` is written. */
  get writer(): MsgpackWriter {
    return this.out;
  }

  /** Whether one more record could overflow the limits. */
  get full(): boolean {
    return this.records >= this.limits.maxRecords || this.out.pos >= this.limits.maxBytes;
  }

  /** Hands over the chunk built so far and starts an empty one. */
  take(): Chunk | null {
    if (this.records === 0) return null;
    const built = this.out.buf.subarray(0, this.out.pos);
    // With a pool, the chunk keeps the memory it was encoded in and the next one is encoded in
    // another slab: copying each chunk out of one buffer cost 1.3% of a backfill's CPU.
    if (this.pool) this.out.use(this.pool.take(this.pool.slabBytes));
    const chunk: Chunk = {
      id: newChunkId(),
      entries: this.pool ? built : Buffer.from(built),
      count: this.records,
      compressed: false,
      retries: 0,
    };
    this.out.pos = 0;
    this.records = 0;
    return chunk;
  }
}

const gzipAsync = promisify(gzip);

/** The chunk with its entries gzip-compressed, on libuv's thread pool: encoding goes on meanwhile. */
export async function compressChunk(chunk: Chunk, level = 6): Promise<Chunk> {
  return { ...chunk, entries: await gzipAsync(chunk.entries, { level }), compressed: true };
}
