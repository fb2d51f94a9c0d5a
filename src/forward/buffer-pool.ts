/**
 * Memory for chunk bodies, reused once a chunk is acked. A body (1 MiB by default) lives until its
 * ack, long enough to leave V8's young generation, and from there it is freed only by a full
 * collection, which V8 starts after tens of megabytes of such garbage: a backfill's peak memory
 * rose by as much. Reusing the memory keeps it at what is in flight.
 */
/** The slab for chunks of up to `maxBytes`: room for a full chunk and its last record. */
export function chunkSlabBytes(maxBytes: number): number {
  return maxBytes + 64 * 1024;
}

export class ChunkBufferPool {
  private readonly free: ArrayBuffer[] = [];
  /** Memory handed out and not yet given back: only these may be reused. */
  private readonly lent = new WeakSet<ArrayBuffer>();

  constructor(
    /** Bodies up to this size are pooled; larger ones (one large record) get memory of their own. */
    readonly slabBytes: number,
    /** Free slabs kept for reuse; more are left to the garbage collector. */
    private readonly keep: number,
  ) {}

  /** Memory for a body of `length` bytes, to be filled by the caller. */
  take(length: number): Buffer {
    if (length > this.slabBytes) return Buffer.allocUnsafe(length);
    const slab = this.free.pop() ?? new ArrayBuffer(this.slabBytes);
    this.lent.add(slab);
    return Buffer.from(slab, 0, length);
  }

  /** Takes a slab of this pool's size whose memory came from another thread (src/ship/parallel.ts). */
  adopt(slab: ArrayBuffer): void {
    if (slab.byteLength === this.slabBytes && this.free.length < this.keep) this.free.push(slab);
  }

  /** A copy of the first `length` bytes of `source`. */
  copy(source: Buffer, length: number): Buffer {
    const body = this.take(length);
    source.copy(body, 0, 0, length);
    return body;
  }

  /**
   * Takes back a body that `take` or `copy` returned, once nothing reads it any more: after its
   * ack, when the socket has long written it and no resend can follow, or once the spool has
   * written a body it does not keep in memory. Any other buffer is ignored.
   */
  recycle(body: Buffer): void {
    const slab = body.buffer as ArrayBuffer;
    if (!this.lent.has(slab)) return;
    this.lent.delete(slab);
    if (this.free.length < this.keep) this.free.push(slab);
  }
}
