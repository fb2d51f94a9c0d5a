/**
 * The most recent RequestIDs, in a ring: memory stays fixed however long the tail runs.
 *
 * The ids live as bytes in typed arrays allocated once, with an open-addressing index over them,
 * not as strings in a Set: a Set held each id until the ring evicted it, seconds later, by which
 * time every one of them had left V8's young generation, and a tail of 4,000 records a second
 * piled up megabytes of such garbage in the old generation between full collections (7 MB of
 * peak RSS with the default 20,000 ids). Lookups compare the bytes, so the answer is exact.
 */

/** Bytes kept inline for each id, one a character: a RequestID is a UUID, 36 ASCII characters. Other ids are kept as strings. */
const SLOT_BYTES = 36;
/** The length recorded for an id kept as a string, never a slot's. */
const LONG = -2;

export class RecentIds {
  /** The ids' characters as latin1 bytes, SLOT_BYTES a slot, in ring order. */
  private readonly bytes: Buffer;
  /** Each slot's id length; LONG for an id kept as a string; -1 for an empty slot. */
  private readonly lengths: Int32Array;
  private readonly hashes: Uint32Array;
  /** Ids that do not fit a slot, by slot. */
  private readonly long = new Map<number, string>();
  /** Linear-probing index: slot + 1, or 0 for an empty bucket. At most half full. */
  private readonly index: Int32Array;
  private readonly mask: number;
  private readonly scratch = Buffer.allocUnsafe(SLOT_BYTES);
  private next = 0;

  constructor(private readonly capacity: number) {
    this.bytes = Buffer.alloc(capacity * SLOT_BYTES);
    this.lengths = new Int32Array(capacity).fill(-1);
    this.hashes = new Uint32Array(capacity);
    let buckets = 16;
    while (buckets < capacity * 2) buckets *= 2;
    this.index = new Int32Array(buckets);
    this.mask = buckets - 1;
  }

  /** False when the id is among the recent ones; otherwise remembers it. */
  add(id: string): boolean {
    let hash = this.load(id);
    const inline = hash >= 0;
    if (!inline) hash = hashString(id);
    if (this.find(id, inline ? id.length : LONG, hash)) return false;
    this.evict(this.next);
    const slot = this.next;
    this.next = (slot + 1) % this.capacity;
    this.lengths[slot] = inline ? id.length : LONG;
    this.hashes[slot] = hash;
    if (inline) this.scratch.copy(this.bytes, slot * SLOT_BYTES, 0, id.length);
    else this.long.set(slot, id);
    let bucket = hash & this.mask;
    while (this.index[bucket] !== 0) bucket = (bucket + 1) & this.mask;
    this.index[bucket] = slot + 1;
    return true;
  }

  /**
   * Copies the id into `scratch`, one byte a character, and hashes it in the same pass, if it fits
   * a slot: no longer than one, and every character latin1. -1 for an id kept as a string.
   */
  private load(id: string): number {
    if (id.length > SLOT_BYTES) return -1;
    let h = FNV_OFFSET;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      if (c > 0xff) return -1;
      this.scratch[i] = c;
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    return mix(h);
  }

  /** Whether this id is held. The id is in `scratch` when it fits a slot. */
  private find(id: string, length: number, hash: number): boolean {
    for (let bucket = hash & this.mask; this.index[bucket] !== 0; bucket = (bucket + 1) & this.mask) {
      const slot = this.index[bucket]! - 1;
      if (this.hashes[slot] === hash && this.lengths[slot] === length && this.holds(slot, id)) return true;
    }
    return false;
  }

  private holds(slot: number, id: string): boolean {
    if (this.lengths[slot] === LONG) return this.long.get(slot) === id;
    const at = slot * SLOT_BYTES;
    for (let i = 0; i < id.length; i++) if (this.bytes[at + i] !== this.scratch[i]) return false;
    return true;
  }

  /** Empties a slot and closes the gap its bucket leaves (backward-shift deletion keeps probes short, no tombstones). */
  private evict(slot: number): void {
    if (this.lengths[slot] === -1) return;
    let hole = this.hashes[slot]! & this.mask;
    while (this.index[hole] !== slot + 1) hole = (hole + 1) & this.mask;
    for (let bucket = (hole + 1) & this.mask; this.index[bucket] !== 0; bucket = (bucket + 1) & this.mask) {
      const home = this.hashes[this.index[bucket]! - 1]! & this.mask;
      // An entry may move back into the hole only if its home bucket is not between the hole and it.
      const stays = hole <= bucket ? hole < home && home <= bucket : hole < home || home <= bucket;
      if (stays) continue;
      this.index[hole] = this.index[bucket]!;
      hole = bucket;
    }
    this.index[hole] = 0;
    this.lengths[slot] = -1;
    this.long.delete(slot);
  }
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over the characters, mixed so that the bucket bits depend on all of them (the same hash as `load` makes). */
function hashString(s: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return mix(h);
}

/** MurmurHash3's finaliser. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
