/**
 * The servers a sender delivers to, one link each, and whose turn it is: regular servers share the
 * chunks by smooth weighted round-robin, and standbys take chunks only while every regular server
 * has failed. Which chunk goes, and when, is the sender's.
 */
import type { ServerLink } from './server-link.js';

export class ServerPool {
  private readonly links = new Map<string, ServerLink>();
  private standbyActive = false;

  /**
   * @param window chunks one server may hold in flight
   * @param hasStandby whether any standby was named, so that one may be called on
   */
  constructor(
    private readonly window: number,
    private readonly hasStandby: boolean,
  ) {}

  get(label: string): ServerLink | undefined {
    return this.links.get(label);
  }

  /** Adds a link, active at once unless it is a standby not called on now. */
  add(link: ServerLink): void {
    this.links.set(link.label, link);
    if (!link.standby || this.standbyActive) link.activate();
  }

  /** Takes a link out of the pool: it gets no more chunks. */
  remove(link: ServerLink): void {
    if (this.links.get(link.label) === link) this.links.delete(link.label);
  }

  all(): ServerLink[] {
    return [...this.links.values()];
  }

  /** A link in the pool that may take chunks now: regular, or a standby while standbys are called on. */
  eligible(link: ServerLink): boolean {
    return this.links.get(link.label) === link && (!link.standby || this.standbyActive);
  }

  /** Whether any server that may take chunks is up. */
  get anyUp(): boolean {
    return this.all().some((l) => l.state === 'up' && this.eligible(l));
  }

  /** Chunks in flight at every server. */
  get inFlight(): number {
    let n = 0;
    for (const link of this.links.values()) n += link.inFlight.size;
    return n;
  }

  /** Chunks the servers taking chunks now can hold in flight (one window while none is up). */
  get capacity(): number {
    let n = 0;
    for (const link of this.links.values()) if (this.eligible(link) && link.state === 'up') n += this.window;
    return Math.max(n, this.window);
  }

  /**
   * The server whose turn it is, or null when none is up. It may have a full window: then the
   * chunk waits for it, so that shares hold even when the servers are slower than the input. A
   * server that has not acked on its connection yet is passed over instead, so one that never
   * acks cannot hold the others up.
   */
  next(): ServerLink | null {
    let best: ServerLink | null = null;
    for (const link of this.takers()) if (!best || link.current + link.weight > best.current + best.weight) best = link;
    return best;
  }

  /** `chosen` took a chunk: every server in the running gains its weight, and `chosen` gives up the total. */
  charge(chosen: ServerLink): void {
    let total = 0;
    for (const link of this.takers()) {
      link.current += link.weight;
      total += link.weight;
    }
    chosen.current -= total;
  }

  /** Standbys take over once every regular server has failed, and are let go when one is up again. */
  updateStandby(): void {
    const regular = this.all().filter((l) => !l.standby);
    const anyUp = regular.some((l) => l.state === 'up');
    const allFailed = regular.every((l) => l.failedSinceUp && l.state !== 'up');
    const want = !anyUp && allFailed && this.hasStandby;
    if (want === this.standbyActive) return;
    this.standbyActive = want;
    for (const link of this.all()) {
      if (!link.standby) continue;
      if (want) link.activate();
      else void link.deactivate();
    }
  }

  /** The servers in the running for the next chunk: up, eligible, and with room or not yet trusted. */
  private takers(): ServerLink[] {
    const out: ServerLink[] = [];
    for (const link of this.links.values()) {
      if (link.state === 'up' && this.eligible(link) && (link.hasRoom || link.trusted)) out.push(link);
    }
    return out;
  }
}
