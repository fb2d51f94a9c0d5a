/**
 * A chunk's id, apart from the rest of the protocol: the chunk builder needs it, and loading
 * src/forward/protocol.ts for it loaded the msgpack library too, in every reading worker (about
 * 15 ms of each worker's start), where nothing is encoded with that library.
 */
import { randomBytes } from '../crypto.js';

/** The `chunk` option of a PackedForward message: its ack echoes it. */
export type ChunkId = string;

/** A chunk id: base64 of 16 random bytes, as Fluentd's out_forward makes them. */
export function newChunkId(): ChunkId {
  return randomBytes(16).toString('base64');
}
