/**
 * The spool's on-disk frame, pure code. A segment file is a sequence of frames, one per chunk:
 *
 *   magic "ASC1" | u32 body length | u32 CRC-32 of the body | body
 *   body = u8 flags (bit 0: gzip) | 3 bytes zero | u32 record count | 16-byte chunk id | entries
 *
 * All integers big-endian. The checksum covers the whole body, so a torn write (a crash mid-frame)
 * or a flipped bit is caught before anything is sent; the magic lets a scan find the next good
 * frame after damage instead of giving up on the rest of the segment.
 */
import { crc32 } from 'node:zlib';
import type { Chunk } from '../forward/chunk.js';

export const FRAME_MAGIC = Buffer.from('ASC1', 'latin1');
export const FRAME_HEADER_BYTES = 12;
export const BODY_PREFIX_BYTES = 24;
const ID_BYTES = 16;
const FLAG_GZIP = 1;
/** A frame claiming more than this is damage, not data: chunks are a few MiB at most. */
export const MAX_FRAME_BODY_BYTES = 1024 * 1024 * 1024;

/** The frame's header and body prefix; the entries follow unchanged, so they are never copied. */
export function encodeFrameHead(chunk: Chunk): Buffer {
  const head = Buffer.alloc(FRAME_HEADER_BYTES + BODY_PREFIX_BYTES);
  const prefix = head.subarray(FRAME_HEADER_BYTES);
  prefix[0] = chunk.compressed ? FLAG_GZIP : 0;
  prefix.writeUInt32BE(chunk.count, 4);
  const id = Buffer.from(chunk.id, 'base64');
  if (id.length !== ID_BYTES) throw new Error(`chunk id ${chunk.id} is not 16 bytes`);
  id.copy(prefix, 8);
  FRAME_MAGIC.copy(head, 0);
  head.writeUInt32BE(BODY_PREFIX_BYTES + chunk.entries.length, 4);
  head.writeUInt32BE(crc32(chunk.entries, crc32(prefix)), 8);
  return head;
}

export function frameBytes(chunk: Chunk): number {
  return FRAME_HEADER_BYTES + BODY_PREFIX_BYTES + chunk.entries.length;
}

/** A good frame found by a scan: where its entries are, and what chunk they make. */
export interface FrameInfo {
  offset: number;
  length: number;
  id: string;
  count: number;
  compressed: boolean;
  entriesOffset: number;
  entriesLength: number;
}

/** Bytes of a segment that are not good frames: a torn tail, a bad checksum, garbage. */
export interface Damage {
  offset: number;
  length: number;
  reason: 'torn' | 'checksum' | 'garbage';
}

export interface ScanResult {
  frames: FrameInfo[];
  damage: Damage[];
}

/** Reads a frame at `offset`, or says why there is none. */
function readFrame(data: Buffer, offset: number): FrameInfo | Damage['reason'] {
  if (data.length - offset < FRAME_HEADER_BYTES) return 'torn';
  if (data.compare(FRAME_MAGIC, 0, 4, offset, offset + 4) !== 0) return 'garbage';
  const bodyLength = data.readUInt32BE(offset + 4);
  if (bodyLength < BODY_PREFIX_BYTES || bodyLength > MAX_FRAME_BODY_BYTES) return 'garbage';
  const bodyStart = offset + FRAME_HEADER_BYTES;
  if (bodyStart + bodyLength > data.length) return 'torn';
  const body = data.subarray(bodyStart, bodyStart + bodyLength);
  if (crc32(body) !== data.readUInt32BE(offset + 8)) return 'checksum';
  return {
    offset,
    length: FRAME_HEADER_BYTES + bodyLength,
    id: body.subarray(8, 8 + ID_BYTES).toString('base64'),
    count: body.readUInt32BE(4),
    compressed: (body[0]! & FLAG_GZIP) !== 0,
    entriesOffset: bodyStart + BODY_PREFIX_BYTES,
    entriesLength: bodyLength - BODY_PREFIX_BYTES,
  };
}

/**
 * Splits a segment into good frames and damaged ranges. After damage the scan resumes at the next
 * magic that starts a frame with a valid checksum, so one bad chunk costs only itself.
 */
export function scanSegment(data: Buffer): ScanResult {
  const frames: FrameInfo[] = [];
  const damage: Damage[] = [];
  let offset = 0;
  while (offset < data.length) {
    const frame = readFrame(data, offset);
    if (typeof frame !== 'string') {
      frames.push(frame);
      offset += frame.length;
      continue;
    }
    const resume = nextGoodFrame(data, offset + 1);
    damage.push({ offset, length: resume - offset, reason: frame });
    offset = resume;
  }
  return { frames, damage };
}

function nextGoodFrame(data: Buffer, from: number): number {
  for (let at = data.indexOf(FRAME_MAGIC, from); at >= 0; at = data.indexOf(FRAME_MAGIC, at + 1)) {
    if (typeof readFrame(data, at) !== 'string') return at;
  }
  return data.length;
}
