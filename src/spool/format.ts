/**
 * The spool's on-disk frame, pure code. A segment file is a sequence of frames, one per chunk:
 *
 *   magic "ASC2" | u32 body length | u32 CRC-32 of the body | body
 *   body = u8 flags (bit 0: gzip) | u8 zero | u16 tag length | u32 record count | 16-byte chunk id | tag | entries
 *
 * The tag is the Fluentd tag the chunk was read under, so that what a run leaves in the spool is
 * sent under it by the next run, whatever that one's --tag. Frames of magic "ASC1", written before
 * tags were kept, have no tag bytes (the u16 is zero) and are sent under the run's tag.
 *
 * All integers big-endian. The checksum covers the whole body, so a torn write (a crash mid-frame)
 * or a flipped bit is caught before anything is sent; the magic lets a scan find the next good
 * frame after damage instead of giving up on the rest of the segment.
 */
import { crc32 } from 'node:zlib';
import type { Chunk } from '../forward/chunk.js';

/** What both magics begin with; the fourth byte says which frame follows. */
const MAGIC_STEM = Buffer.from('ASC', 'latin1');
const UNTAGGED = 0x31; // '1'
const TAGGED = 0x32; // '2'
const FRAME_MAGIC = Buffer.from('ASC2', 'latin1');
export const FRAME_HEADER_BYTES = 12;
export const BODY_PREFIX_BYTES = 24;
const ID_BYTES = 16;
const FLAG_GZIP = 1;
/** A frame claiming more than this is damage, not data: chunks are a few MiB at most. */
export const MAX_FRAME_BODY_BYTES = 1024 * 1024 * 1024;

/** A Fluentd tag a frame holds at most, in bytes (its length is a u16). */
export const MAX_TAG_BYTES = 0xffff;

/**
 * The frame's header, body prefix and tag (`chunk.tag`, or none); the entries follow unchanged, so
 * they are never copied.
 */
export function encodeFrameHead(chunk: Chunk): Buffer {
  const tagBytes = Buffer.byteLength(chunk.tag ?? '');
  if (tagBytes > MAX_TAG_BYTES) throw new Error(`the tag ${chunk.tag} is longer than ${MAX_TAG_BYTES} bytes`);
  const head = Buffer.alloc(FRAME_HEADER_BYTES + BODY_PREFIX_BYTES + tagBytes);
  const prefix = head.subarray(FRAME_HEADER_BYTES);
  prefix[0] = chunk.compressed ? FLAG_GZIP : 0;
  prefix.writeUInt16BE(tagBytes, 2);
  prefix.writeUInt32BE(chunk.count, 4);
  const id = Buffer.from(chunk.id, 'base64');
  if (id.length !== ID_BYTES) throw new Error(`chunk id ${chunk.id} is not 16 bytes`);
  id.copy(prefix, 8);
  if (chunk.tag !== undefined) prefix.write(chunk.tag, BODY_PREFIX_BYTES);
  FRAME_MAGIC.copy(head, 0);
  head.writeUInt32BE(BODY_PREFIX_BYTES + tagBytes + chunk.entries.length, 4);
  head.writeUInt32BE(crc32(chunk.entries, crc32(prefix)), 8);
  return head;
}

/** The bytes before a chunk's entries in its frame: header, body prefix and tag. */
export function frameHeadBytes(tag: string | null): number {
  return FRAME_HEADER_BYTES + BODY_PREFIX_BYTES + Buffer.byteLength(tag ?? '');
}

/**
 * Whether a frame read back still holds what was written: its head (header, body prefix and tag)
 * and its entries, under the one checksum. A spool file changed under the run (a person, a program,
 * the disk) fails it, so that bytes no one wrote are never sent as records.
 */
export function frameIntact(head: Buffer, entries: Buffer): boolean {
  if (head.length < FRAME_HEADER_BYTES + BODY_PREFIX_BYTES) return false;
  if (!startsFrame(head, 0)) return false;
  if (head.readUInt32BE(4) !== head.length - FRAME_HEADER_BYTES + entries.length) return false;
  return crc32(entries, crc32(head.subarray(FRAME_HEADER_BYTES))) === head.readUInt32BE(8);
}

export function frameBytes(chunk: Chunk): number {
  return frameHeadBytes(chunk.tag ?? null) + chunk.entries.length;
}

/** A good frame found by a scan: where its entries are, and what chunk they make. */
export interface FrameInfo {
  offset: number;
  length: number;
  id: string;
  count: number;
  compressed: boolean;
  /** The tag the chunk was read under; null in a frame written before tags were kept, or without one. */
  tag: string | null;
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

/** Whether `data` holds a frame's magic at `offset`, of either kind. */
function startsFrame(data: Buffer, offset: number): boolean {
  const kind = data[offset + 3];
  return data.compare(MAGIC_STEM, 0, 3, offset, offset + 3) === 0 && (kind === UNTAGGED || kind === TAGGED);
}

/** Reads a frame at `offset`, or says why there is none. */
function readFrame(data: Buffer, offset: number): FrameInfo | Damage['reason'] {
  if (data.length - offset < FRAME_HEADER_BYTES) return 'torn';
  if (!startsFrame(data, offset)) return 'garbage';
  const kind = data[offset + 3];
  const bodyLength = data.readUInt32BE(offset + 4);
  if (bodyLength < BODY_PREFIX_BYTES || bodyLength > MAX_FRAME_BODY_BYTES) return 'garbage';
  const bodyStart = offset + FRAME_HEADER_BYTES;
  if (bodyStart + bodyLength > data.length) return 'torn';
  const body = data.subarray(bodyStart, bodyStart + bodyLength);
  if (crc32(body) !== data.readUInt32BE(offset + 8)) return 'checksum';
  const tagBytes = kind === TAGGED ? body.readUInt16BE(2) : 0;
  if (BODY_PREFIX_BYTES + tagBytes > bodyLength) return 'garbage';
  return {
    offset,
    length: FRAME_HEADER_BYTES + bodyLength,
    id: body.subarray(8, 8 + ID_BYTES).toString('base64'),
    count: body.readUInt32BE(4),
    compressed: (body[0]! & FLAG_GZIP) !== 0,
    tag: tagBytes > 0 ? body.toString('utf8', BODY_PREFIX_BYTES, BODY_PREFIX_BYTES + tagBytes) : null,
    entriesOffset: bodyStart + BODY_PREFIX_BYTES + tagBytes,
    entriesLength: bodyLength - BODY_PREFIX_BYTES - tagBytes,
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
  for (let at = data.indexOf(MAGIC_STEM, from); at >= 0; at = data.indexOf(MAGIC_STEM, at + 1)) {
    if (typeof readFrame(data, at) !== 'string') return at;
  }
  return data.length;
}
