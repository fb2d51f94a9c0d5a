/** The most recent RequestIDs, in a ring: memory stays fixed however long the tail runs. */
export class RecentIds {
  private readonly ring: (string | undefined)[];
  private readonly set = new Set<string>();
  private next = 0;

  constructor(capacity: number) {
    this.ring = new Array(capacity);
  }

  /** False when the id is among the recent ones; otherwise remembers it. */
  add(id: string): boolean {
    if (this.set.has(id)) return false;
    const evicted = this.ring[this.next];
    if (evicted !== undefined) this.set.delete(evicted);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.ring.length;
    this.set.add(id);
    return true;
  }
}
