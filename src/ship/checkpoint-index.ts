/**
 * Where else the checkpoint may know a file from: its device and inode (a file renamed, FILE to
 * FILE.1), or its first 4 KiB (a file copied, as logrotate's copytruncate does, or compressed into
 * FILE.1.gz). Looking through every entry for each new file made a backfill of 2,000 files spend
 * 0.6 s of its 4.3 there; these are looked up by key.
 *
 * An entry replaced under its name in this run by another file's (FILE rotated and a new FILE
 * read first, its path sorting before FILE-20210920.gz) stays findable until the run ends: the
 * file it stood for may be among the inputs still to come, under its new name.
 */
import type { FileProgress } from './checkpoint.js';

/** The bytes a file's fingerprint covers: its first line or more, for audit logs (a RequestID in each). */
export const FINGERPRINT_BYTES = 4096;

const inodeKey = (dev: number, ino: number) => `i${dev}:${ino}`;
const contentKey = (fingerprint: string) => `c${fingerprint}`;

/**
 * The keys an entry is found by: its inode, and its content when its fingerprint covers a full
 * FINGERPRINT_BYTES (a shorter start, a line or two, is too little to tell files apart by alone).
 */
function keysOf(p: FileProgress): string[] {
  const keys: string[] = [];
  if (p.dev !== undefined && p.ino !== undefined) keys.push(inodeKey(p.dev, p.ino));
  if (p.fingerprint !== undefined && p.fingerprintBytes === FINGERPRINT_BYTES) keys.push(contentKey(p.fingerprint));
  return keys;
}

export class EntryIndex {
  private readonly names = new Map<string, Set<string>>();
  private readonly displaced = new Map<string, [string, FileProgress][]>();

  /** `entries`: the checkpoint's entries by name, as they change. */
  constructor(private readonly entries: Readonly<Record<string, FileProgress>>) {}

  add(name: string, p: FileProgress): void {
    for (const key of keysOf(p)) {
      const names = this.names.get(key);
      if (names) names.add(name);
      else this.names.set(key, new Set([name]));
    }
  }

  remove(name: string, p: FileProgress): void {
    for (const key of keysOf(p)) {
      const names = this.names.get(key);
      names?.delete(name);
      if (names?.size === 0) this.names.delete(key);
    }
  }

  /** Keeps `p`, no longer the entry under `name`, findable until the run ends. */
  displace(name: string, p: FileProgress): void {
    for (const key of keysOf(p)) {
      const entries = this.displaced.get(key);
      if (entries) entries.push([name, p]);
      else this.displaced.set(key, [[name, p]]);
    }
  }

  byInode(dev: number, ino: number): Iterable<[string, FileProgress]> {
    return this.find(inodeKey(dev, ino));
  }

  byContent(fingerprint: string): Iterable<[string, FileProgress]> {
    return this.find(contentKey(fingerprint));
  }

  private *find(key: string): Iterable<[string, FileProgress]> {
    for (const name of this.names.get(key) ?? []) yield [name, this.entries[name]!];
    yield* this.displaced.get(key) ?? [];
  }
}
