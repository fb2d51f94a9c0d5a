/**
 * `--checkpoint FILE`: how far each input file is durably spooled, so that a backfill stopped by a
 * crash or Ctrl-C continues where it stopped. A position is recorded only after every line before
 * it is in the spool (or dead-lettered, or counted as skipped), so resuming from it loses nothing;
 * the lines between the last checkpoint and a crash are read again (at least once, never lost).
 * The file is replaced atomically (write, fsync, rename, fsync of the directory) off the main
 * thread, one replace at a time (src/state-file.ts): a crash leaves the old or the new one, at most
 * one replace behind. Like the spool, it is locked (FILE.lock): two runs never share one.
 */
import { resolve } from 'node:path';
import type { FileIdentity } from '../input/sources.js';
import { readStateFile } from '../durable.js';
import type { FullDiskWait } from '../full-disk.js';
import { jsonStateWriter, type StateFileWriter, type WriteGate } from '../state-file.js';
import { FileLock } from '../spool/lock.js';
import { CHECKPOINT_HEAD, EntryTexts, entryText } from './checkpoint-text.js';
import { fingerprint, knowable, markOf, sameContent, type FileMark } from './checkpoint-mark.js';
import { isGone } from './checkpoint-gone.js';
import { covers, describeWindow, narrower, unbounded, windowOf, type EntryWindow } from './checkpoint-window.js';
import { EntryIndex, FINGERPRINT_BYTES } from './checkpoint-index.js';
import { decodedHead } from '../input/sources.js';
import { CheckpointError } from '../errors.js';

export { CheckpointError };
export { markOf, type FileMark } from './checkpoint-mark.js';
export { holdsCheckpoint } from './checkpoint-text.js';

export interface FileProgress extends EntryWindow {
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

/**
 * Where to start a file; `reason` says why it is not where its name was left, for the log.
 * `copied`: the file is a copy (logrotate's copytruncate), which no writer adds to.
 */
export type ResumePoint =
  | { kind: 'done'; reason?: string }
  | { kind: 'resume'; offset: number; line: number; reason?: string; copied?: true; window?: EntryWindow }
  | { kind: 'start'; reason?: string };

/** A resume point's window: that of the entry it resumes, when it has one. */
function resumedWithin(entry: FileProgress): { window?: EntryWindow } {
  const window = windowOf(entry);
  return unbounded(window) ? {} : { window };
}

export class Checkpoint {
  private readonly file: StateFileWriter;
  /** The entries by inode and content, for a file not found under its name (src/ship/checkpoint-index.ts). */
  private readonly index: EntryIndex;
  /** Each entry as the file shows it, made when the entry changes (src/ship/checkpoint-text.ts). */
  private readonly entryTexts = new EntryTexts(',\n');
  /** The entries this run looked up or recorded: the files it was given, under any name. */
  private readonly consulted = new Set<string>();
  /** Each file's window before this run reads on (src/ship/checkpoint-window.ts): none from its start. */
  private readonly before = new Map<string, EntryWindow>();

  private constructor(
    path: string,
    private readonly state: CheckpointFile,
    private readonly lock: FileLock,
    /** This run's --since/--until. */
    private readonly window: EntryWindow,
    full: FullDiskWait | undefined,
  ) {
    // Written on demand: as the spool writer asks, every few chunks (src/ship/spool-writer.ts).
    this.file = jsonStateWriter(path, state, 'the checkpoint', true, () => this.text(), false, full);
    this.index = new EntryIndex(state.files);
    for (const [name, p] of Object.entries(state.files)) {
      this.index.add(name, p);
      this.entryTexts.set(name, entryText(name, p));
    }
  }

  /** The file's text: the state as JSON indented by one space, as JSON.stringify(state, null, 1) writes it. */
  private text(): string[] {
    if (this.entryTexts.size === 0) return [CHECKPOINT_HEAD, '{}\n}\n'];
    return [`${CHECKPOINT_HEAD}{\n`, ...this.entryTexts.parts(), '\n }\n}\n'];
  }

  /**
   * Reads the checkpoint (none yet: an empty one) and locks it (`FILE.lock`). With `full`, a save
   * that finds the disk full waits for room (reading waits with it) instead of ending the run.
   */
  static async load(path: string, window: EntryWindow = {}, full?: FullDiskWait): Promise<Checkpoint> {
    const state = readStateFile<CheckpointFile>(path, 'the checkpoint', 'checkpoint', { version: 1, files: {} }, 'files');
    try {
      return new Checkpoint(
        path,
        state,
        await FileLock.acquire(`${path}.lock`, `the checkpoint ${path}`, 'give each run its own --checkpoint'),
        window,
        full,
      );
    } catch (error) {
      throw new CheckpointError((error as Error).message, { cause: error });
    }
  }

  /** Resolves once the file holds every position recorded; rejects with a write that failed. */
  saved(): Promise<void> {
    return this.file.saved();
  }

  /** The number of positions recorded so far: what savedThrough() and request() take. */
  changes(): number {
    return this.file.changes;
  }

  /** Resolves once the file holds the first `version` positions recorded; rejects with a write that failed. */
  savedThrough(version: number): Promise<void> {
    return this.file.savedThrough(version);
  }

  /** Has the file written with the first `version` positions recorded at least, without waiting. */
  request(version: number): void {
    this.file.request(version);
  }

  /** Saves wait while `gate` gives a wait (see StateFileWriter.writeAfter). */
  writeAfter(gate: WriteGate): void {
    this.file.writeAfter(gate);
  }

  /** A save waits for disk room now. */
  get waitingForRoom(): boolean {
    return this.file.waitingForRoom;
  }

  /** The run stops: a save waiting for disk room is tried once more, then fails (see StateFileWriter.stopWaiting). */
  stopWaiting(): void {
    this.file.stopWaiting();
  }

  /** Releases the lock once the last write is done (a failed one was reported by saved() or record()). */
  async close(): Promise<void> {
    await this.file.saved().catch(() => {});
    this.lock.release();
  }

  /**
   * Where to start reading `file`. A file is known by its first bytes, not its name: under its
   * name may now be another file (rotated, replaced: read from the start), and a file renamed,
   * copied or compressed since is found under its new name (src/ship/checkpoint-index.ts).
   */
  resumePoint(file: string, now: FileNow): ResumePoint {
    const path = resolve(file);
    const point = this.findPoint(path, now);
    this.before.set(path, point.kind === 'resume' ? (point.window ?? {}) : {});
    return point;
  }

  private findPoint(path: string, now: FileNow): ResumePoint {
    const progress = this.state.files[path];
    this.consulted.add(path);
    if (progress && sameContent(progress, now)) return this.pointFrom(progress, now);
    const found = this.foundElsewhere(path, now);
    if (found) return found;
    if (!progress) return { kind: 'start' };
    return {
      kind: 'start',
      reason: 'is not the file checkpointed under this name (its first bytes differ: rotated or replaced): reading it from the start',
    };
  }

  /**
   * The file's entry under another name: the same device, inode and first bytes (renamed); the same
   * first 4 KiB (copied); or, for gzip, the same first 4 KiB once decompressed (compressed, as
   * logrotate's `compress` does), resumed at the same place in the decompressed bytes.
   */
  private foundElsewhere(path: string, now: FileNow): ResumePoint | null {
    const id = now.identity;
    if (!id) return null;
    const mine = this.state.files[path];
    for (const [name, p] of this.index.byInode(id.dev, id.ino))
      if (p !== mine && p.fingerprint !== undefined && sameContent(p, now))
        return this.adopt(path, now, name, p, `is ${name} renamed (same device, inode and first bytes)`);
    if (knowable(id.head))
      for (const [name, p] of this.index.byContent(fingerprint(id.head, FINGERPRINT_BYTES)))
        if (p !== mine) {
          const point = this.adopt(path, now, name, p, `is a copy of ${name} (same first 4 KiB)`);
          return point.kind === 'resume' ? { ...point, copied: true } : point;
        }
    const decoded = decodedHead(id.head);
    if (knowable(decoded))
      for (const [name, p] of this.index.byContent(fingerprint(decoded, FINGERPRINT_BYTES)))
        if (p !== mine) {
          this.consulted.add(name);
          const known = `is ${name} compressed (same first 4 KiB once decompressed)`;
          if (!covers(p, this.window)) return this.uncovered(p, known);
          return { kind: 'resume', offset: p.offset, line: p.line, reason: `${known}: resuming after line ${p.line}`, ...resumedWithin(p) };
        }
    return null;
  }

  /**
   * The point of a file found under another name. One found shipped is recorded under its new name
   * too: reading it records nothing, and its next rename or compression must still find it.
   */
  private adopt(path: string, now: FileNow, name: string, p: FileProgress, known: string): ResumePoint {
    this.consulted.add(name);
    const point = this.pointFrom(p, now, known);
    if (point.kind === 'done')
      this.record(path, { offset: p.offset, line: p.line, size: p.size, done: true, ...windowOf(p) }, markOf(now.identity!));
    return point;
  }

  /** A file shipped under a window that left out records this run asks for: read again from its start. */
  private uncovered(progress: FileProgress, known?: string): ResumePoint {
    const what =
      `was shipped with ${describeWindow(progress)}, which left records of it out that this run asks for: ` +
      'reading it from the start (the records shipped then are sent again)';
    return { kind: 'start', reason: known ? `${known}: ${what}` : what };
  }

  private pointFrom(progress: FileProgress, now: FileNow, known?: string): ResumePoint {
    if (!covers(progress, this.window)) return this.uncovered(progress, known);
    const says = (what: string) => (known ? `${known}: ${what}` : what);
    if (now.size < progress.size)
      return { kind: 'start', reason: says(`was truncated (${now.size} < ${progress.size} bytes): reading it from the start`) };
    if (progress.done && now.size === progress.size) return { kind: 'done', ...(known ? { reason: says('already shipped') } : {}) };
    return {
      kind: 'resume',
      offset: progress.offset,
      line: progress.line,
      ...(known ? { reason: says(`resuming after line ${progress.line}`) } : {}),
      ...resumedWithin(progress),
    };
  }

  /**
   * Records how far `file` is handled, with its mark when known; the file is written soon after.
   * Throws the error of an earlier write that failed.
   */
  record(file: string, progress: FileProgress, mark?: FileMark): void {
    const path = resolve(file);
    const before = this.state.files[path];
    // The lines before where this run started on the file were shipped within the window they had.
    const window = narrower(windowOf(progress), this.before.get(path) ?? windowOf(before));
    const { since: _since, until: _until, ...position } = progress;
    const entry: FileProgress = { ...position, ...mark, ...window };
    this.consulted.add(path);
    this.state.files[path] = entry;
    this.entryTexts.set(path, entryText(path, entry));
    if (before?.dev !== entry.dev || before?.ino !== entry.ino || before?.fingerprint !== entry.fingerprint) {
      if (before) this.index.remove(path, before);
      this.index.add(path, entry);
      // Another file under this name (or the same one grown past its fingerprint's bytes): the
      // file the entry stood for may yet come, renamed, copied or compressed.
      if (before?.fingerprint !== undefined && before.fingerprint !== entry.fingerprint) this.index.displace(path, before);
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
      this.index.remove(name, p);
    }
    this.entryTexts.delete(new Set(gone.map(([name]) => name)));
    this.file.changed();
    return gone;
  }
}
