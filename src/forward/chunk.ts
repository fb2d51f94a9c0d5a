/**
 * A chunk: a batch of encoded `[EventTime, record]` entries with its id, the unit that is spooled,
 * sent as one PackedForward frame and acked. Building one appends into a single growing buffer.
 */
import { gzipSync } from 'node:zlib';
import { Encoder } from '@msgpack/msgpack';
import { EVENT_TIME_ENCODED_BYTES, writeEventTime } from './event-time.js';
import { newChunkId, type ChunkId } from './protocol.js';

export interface Chunk {
  id: ChunkId;
  /** msgpack stream of entries; gzip-compressed when `compressed`. */
  entries: Buffer;
  count: number;
  compressed: boolean;
  /** Times this chunk was sent again after a lost connection or ack timeout. */
  retries: number;
}

export interface ChunkLimits {
  maxRecords: number;
  maxBytes: number;
}

/** 1 MiB and 5000 records: small next to the 8 MB chunk limit common in Fluentd setups. */
export const DEFAULT_CHUNK_LIMITS: ChunkLimits = { maxRecords: 5000, maxBytes: 1024 * 1024 };

const FIXARRAY_2 = 0x92;
/** Deeper records are refused: the encoder recurses, and no audit field nests anywhere near this. */
export const MAX_RECORD_DEPTH = 100;

export class ChunkBuilder {
  private buffer: Buffer;
  private length = 0;
  private records = 0;
  private readonly encoder = new Encoder({ ignoreUndefined: true, maxDepth: MAX_RECORD_DEPTH });

  constructor(
    private readonly limits: ChunkLimits,
    private readonly compress: boolean,
  ) {
    this.buffer = Buffer.allocUnsafe(Math.min(limits.maxBytes, 64 * 1024) + 1024);
  }

  get count(): number {
    return this.records;
  }

  get bytes(): number {
    return this.length;
  }

  /**
   * Appends one entry; a record larger than maxBytes still fits, alone in its chunk. False, with
   * nothing appended, for a record nested deeper than MAX_RECORD_DEPTH levels.
   */
  append(seconds: number, nanoseconds: number, record: unknown): boolean {
    let encoded: Uint8Array;
    try {
      encoded = this.encoder.encodeSharedRef(record);
    } catch (error) {
      if (error instanceof Error && /too deep/i.test(error.message)) return false;
      throw error;
    }
    this.ensure(1 + EVENT_TIME_ENCODED_BYTES + encoded.length);
    this.buffer[this.length++] = FIXARRAY_2;
    this.length = writeEventTime(this.buffer, this.length, seconds, nanoseconds);
    this.buffer.set(encoded, this.length);
    this.length += encoded.length;
    this.records++;
    return true;
  }

  /** Whether one more record could overflow the limits. */
  get full(): boolean {
    return this.records >= this.limits.maxRecords || this.length >= this.limits.maxBytes;
  }

  /** Hands over the chunk built so far and starts an empty one. */
  take(): Chunk | null {
    if (this.records === 0) return null;
    const raw = Buffer.from(this.buffer.subarray(0, this.length));
    const chunk: Chunk = {
      id: newChunkId(),
      entries: this.compress ? gzipSync(raw) : raw,
      count: this.records,
      compressed: this.compress,
      retries: 0,
    };
    this.length = 0;
    this.records = 0;
    return chunk;
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }
}
