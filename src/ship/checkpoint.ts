/**
 * `--checkpoint FILE`: how far each input file is durably spooled, so that a backfill stopped by a
 * crash or Ctrl-C continues where it stopped. A position is recorded only after every line before
 * it is in the spool (or dead-lettered, or counted as skipped), so resuming from it loses nothing;
 * the lines between the last checkpoint and a crash are read again (at least once, never lost).
 * The file is replaced atomically (write, fsync, rename, fsync of the directory) off the main
 * thread, one replace at a time (src/state-file.ts): a crash leaves the old or the new one, at most
 * one replace behind. Like the spool, it is locked (FILE.lock): two runs never share one.
 */
import { createHash } from '../crypto.js';
import { resolve } from 'node:path';
import type { FileIdentity } from '../input/sources.js';
import { readStateFile } from '../durable.js';
import { jsonStateWriter, type StateFileWriter } from '../state-file.js';
import { FileLock } from '../spool/lock.js';
import { EntryTexts } from './checkpoint-text.js';
import { isGone } from './checkpoint-gone.js';
import { CheckpointError } from '../errors.js';

/** The bytes a file's fingerprint covers: its first line or more, for audit logs (a RequestID in each). */
const FINGERPRINT_BYTES = 4096;

export { CheckpointError };

export interface FileProgress {
  /** Decoded bytes (after gunzip) and lines durably handled. */
  offset: number;
  line: number;
  /** The file's size when the position was taken: a smaller file now was truncated. */
  size: number;
  done: boolean;
  /** Which file it was: device, inode, and a SHA-256 of its first `fingerprintBytes` bytes (absent in older checkpoints). */
  dev?: number;
  ino?: number;
  fingerprint?: string;
  fingerprintBytes?: number;
}

/** A file as it is now: its size and identity (src/input/sources.ts). */
export interface FileNow {
  size: number;
  identity?: FileIdentity;
}

interface CheckpointFile {
  version: 1;
  files: Record<string, FileProgress>;
}

/** Where to start a file; `reason` says why it is not where its name was left, for the log. */
export type ResumePoint =
  | { kind: 'done'; reason?: string }
  | { kind: 'resume'; offset: number; line: number; reason?: string }
  | { kind: 'start'; reason?: string };

const fingerprint = (head: Buffer, bytes: number) => createHash('sha256').update(head.subarray(0, bytes)).digest('hex');

/**
 * What an entry keeps of the file it stands for: device, inode, and the digest of its first bytes.
 * Made once, when the file's turn comes, so that the run holds this rather than the file's first
 * 4 KiB until its last position is recorded: with small files, a chunk's worth of files (thousands)
 * waits for the chunk to be spooled.
 */
export interface FileMark {
  dev: number;
  ino: number;
  fingerprint: string;
  fingerprintBytes: number;
}

export function markOf({ dev, ino, head }: FileIdentity): FileMark {
  const bytes = Math.min(head.length, FINGERPRINT_BYTES);
  return { dev, ino, fingerprint: fingerprint(head, bytes), fingerprintBytes: bytes };
}

/** Whether the file now is the one a position was taken of: its first bytes match (where there were any). */
function sameContent(progress: FileProgress, now: FileNow): boolean {
  if (progress.fingerprint === undefined || now.identity === undefined) return true; // an older checkpoint: by size only
  const bytes = progress.fingerprintBytes ?? 0;
  return now.identity.head.length >= bytes && fingerprint(now.identity.head, bytes) === progress.fingerprint;
}

/**
 * One entry of `files` as JSON.stringify(state, null, 1) writes it, two levels in. Made by one
 * join, so that it is one flat string: built by concatenation it was a tree of about twenty
 * strings, kept for every entry (a checkpoint of 10,000 files held 10 MB of them).
 */
function entryText(name: string, progress: FileProgress): string {
  const lines = [`  ${JSON.stringify(name)}: {`];
  for (const [key, value] of Object.entries(progress))
    if (value !== undefined) lines.push(`   ${JSON.stringify(key)}: ${JSON.stringify(value)},`);
  const last = lines.length - 1;
  lines[last] = lines[last]!.slice(0, -1);
  lines.push('  }');
  return lines.join('\n');
}

/** The key of a file's device and inode. */
const inodeKey = (dev: number, ino: number) => `${dev}:${ino}`;

export class Checkpoint {
  private readonly file: StateFileWriter;
  /**
   * The entries' names by device and inode: a file not found under its name is looked for among
   * these alone. Going through every entry for each new file made a backfill of 2,000 files spend
   * 0.6 s of its 4.3 there.
   */
  private readonly byInode = new Map<string, Set<string>>();
  /** Each entry as the file shows it, made when the entry changes (src/ship/checkpoint-text.ts). */
  private readonly entryTexts = new EntryTexts(',\n');
  /** The entries this run looked up or recorded: the files it was given, under any name. */
  private readonly consulted = new Set<string>();

  private constructor(
    path: string,
    private readonly state: CheckpointFile,
    private readonly lock: FileLock,
  ) {
    this.file = jsonStateWriter(path, state, 'the checkpoint', true, () => this.text());
    for (const [name, p] of Object.entries(state.files)) {
      this.index(name, p);
      this.entryTexts.set(name, entryText(name, p));
    }
  }

  /** The file's text: the state as JSON indented by one space, as JSON.stringify(state, null, 1) writes it. */
  private text(): string[] {
    const head = `{\n "version": ${this.state.version},\n "files": `;
    if (this.entryTexts.size === 0) return [head, '{}\n}\n'];
    return [`${head}{\n`, ...this.entryTexts.parts(), '\n }\n}\n'];
  }

  private index(name: string, p: FileProgress): void {
    if (p.dev === undefined || p.ino === undefined) return;
    const key = inodeKey(p.dev, p.ino);
    const names = this.byInode.get(key);
    if (names) names.add(name);
    else this.byInode.set(key, new Set([name]));
  }

  private unindex(name: string, p: FileProgress | undefined): void {
    if (p?.dev === undefined || p.ino === undefined) return;
    const key = inodeKey(p.dev, p.ino);
    const names = this.byInode.get(key);
    names?.delete(name);
    if (names?.size === 0) this.byInode.delete(key);
  }

  /** Reads the checkpoint (none yet: an empty one) and locks it (`FILE.lock`). */
  static async load(path: string): Promise<Checkpoint> {
    const state = readStateFile<CheckpointFile>(path, 'the checkpoint', 'checkpoint', { version: 1, files: {} }, 'files');
    try {
      return new Checkpoint(
        path,
        state,
        await FileLock.acquire(`${path}.lock`, `the checkpoint ${path}`, 'give each run its own --checkpoint'),
      );
    } catch (error) {
      throw new CheckpointError((error as Error).message, { cause: error });
    }
  }

  /**
   * Resolves once the file is at most `behind` records behind (0: it holds every position
   * recorded); rejects with a write that failed.
   */
  saved(behind = 0): Promise<void> {
    return this.file.saved(behind);
  }

  /** Releases the lock once the last write is done (a failed one was reported by saved() or record()). */
  async close(): Promise<void> {
    await this.file.saved().catch(() => {});
    this.lock.release();
  }

  /**
   * Where to start reading `file`. A file is known by its first bytes, not its name: under its
   * name may now be another file (rotated, replaced: read from the start), and a file renamed
   * since (rotated to FILE.1) is found by its device, inode and first bytes, and resumed.
   */
  resumePoint(file: string, now: FileNow): ResumePoint {
    const path = resolve(file);
    const progress = this.state.files[path];
    this.consulted.add(path);
    if (progress && !sameContent(progress, now)) {
      const renamed = this.renamedFrom(path, now);
      if (renamed) return this.pointFrom(renamed[1], now, `is ${renamed[0]} renamed (same device, inode and first bytes)`);
      return {
        kind: 'start',
        reason: 'is not the file checkpointed under this name (its first bytes differ: rotated or replaced): reading it from the start',
      };
    }
    if (progress) return this.pointFrom(progress, now);
    const renamed = this.renamedFrom(path, now);
    return renamed ? this.pointFrom(renamed[1], now, `is ${renamed[0]} renamed (same device, inode and first bytes)`) : { kind: 'start' };
  }

  private pointFrom(progress: FileProgress, now: FileNow, known?: string): ResumePoint {
    const says = (what: string) => (known ? `${known}: ${what}` : what);
    if (now.size < progress.size)
      return { kind: 'start', reason: says(`was truncated (${now.size} < ${progress.size} bytes): reading it from the start`) };
    if (progress.done && now.size === progress.size) return { kind: 'done', ...(known ? { reason: says('already shipped') } : {}) };
    return {
      kind: 'resume',
      offset: progress.offset,
      line: progress.line,
      ...(known ? { reason: says(`resuming after line ${progress.line}`) } : {}),
    };
  }

  /** The entry, under another name, of the same file (device, inode and first bytes). */
  private renamedFrom(path: string, now: FileNow): [string, FileProgress] | null {
    const id = now.identity;
    if (!id) return null;
    for (const name of this.byInode.get(inodeKey(id.dev, id.ino)) ?? []) {
      const p = this.state.files[name]!;
      if (name !== path && p.fingerprint !== undefined && sameContent(p, now)) {
        this.consulted.add(name);
        return [name, p];
      }
    }
    return null;
  }

  /**
   * Records how far `file` is handled, with its mark when known; the file is written soon after.
   * Throws the error of an earlier write that failed.
   */
  record(file: string, progress: FileProgress, mark?: FileMark): void {
    const path = resolve(file);
    const before = this.state.files[path];
    const entry = mark ? { ...progress, ...mark } : progress;
    this.consulted.add(path);
    this.state.files[path] = entry;
    this.entryTexts.set(path, entryText(path, entry));
    if (before?.dev !== entry.dev || before?.ino !== entry.ino) {
      this.unindex(path, before);
      this.index(path, entry);
    }
    this.file.changed();
  }

  /**
   * Drops the entries of files that are gone (src/ship/checkpoint-gone.ts) among those this run
   * did not look up, and returns them. Called once every input was read: before, a file renamed
   * since its entry was made might be among the inputs still to come.
   */
  forgetGone(): [string, FileProgress][] {
    const directories = new Map<string, number | null>();
    const gone = Object.entries(this.state.files).filter(([name, p]) => !this.consulted.has(name) && isGone(name, p, directories));
    if (gone.length === 0) return gone;
    for (const [name, p] of gone) {
      delete this.state.files[name];
      this.unindex(name, p);
    }
    this.entryTexts.delete(new Set(gone.map(([name]) => name)));
    this.file.changed();
    return gone;
  }
}
