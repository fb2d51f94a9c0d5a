/**
 * Small state files that change as a run goes (the --checkpoint, the kubectl positions), replaced
 * atomically and off the main thread. Replacing one synchronously (write, fsync, rename, fsync of
 * the directory) held the event loop for each chunk spooled: a checkpointed backfill of 200,000
 * records took 1.19 to 1.24 s, against 1.04 to 1.08 s without a checkpoint.
 */
import { existsSync } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fsyncDir } from './durable.js';
import { CheckpointError, describeSystemError } from './errors.js';
import { FullDiskRetry, type FullDiskWait } from './full-disk.js';
import { makeDirectory } from './make-directory.js';

/**
 * Replaces `path` with `bytes`: written to `PATH.tmp`, fsynced, renamed over PATH, and the directory
 * fsynced, so a crash leaves the old file or the new one, never a mix. Without `durable`, the
 * fsyncs are left out (a crash of the process still leaves one whole file).
 */
async function replaceFile(path: string, bytes: Uint8Array, durable: boolean): Promise<void> {
  const temporary = `${path}.tmp`;
  const handle = await openTemporary(temporary);
  try {
    await handle.writeFile(bytes);
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  if (durable) await fsyncDir(dirname(resolve(path)));
}

/**
 * The temporary file of a replace. Its directory deleted while the run uses it (by hand, a cleaner
 * of old files; the kubectl positions live in the spool, which makes its own directory again), it
 * is made again: the state is whole in memory, and a replace that failed would end the run (a live
 * tail with exit 4) for want of a folder.
 */
async function openTemporary(temporary: string): Promise<FileHandle> {
  try {
    return await open(temporary, 'w', 0o600);
  } catch (error) {
    const dir = dirname(resolve(temporary));
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || existsSync(dir)) throw error;
    makeDirectory(dir, 0o700);
    return open(temporary, 'w', 0o600);
  }
}

/**
 * What must be on disk before a state file, asked before each replace: null when nothing waits,
 * else a wait until it is, which rejects if it never will be (see StateFileWriter.writeAfter).
 */
export type WriteGate = () => Promise<void> | null;

/**
 * One state file, written as its state changes. `changed()` asks for the newest state to be
 * written; one replace runs at a time, and the changes made while it runs are written together by
 * the next. So the file trails the state by the replace under way and never leads it: a position
 * is saved only after what it stands for is. Each change has a number, so that a writer can wait
 * until the file holds a given one. On demand (`eager` false), a change is written only once a
 * wait or a request asks for it. A failed replace ends the writing: `changed()` throws its error
 * from then on, and every wait rejects with it. With `full`, a replace that finds the disk full
 * is tried again once a second instead, until it goes through, its limit passes, or
 * `stopWaiting()` (see there).
 */
export class StateFileWriter {
  private writing: Promise<void> | null = null;
  /** Changes asked for, and the newest of them on disk. */
  private asked = 0;
  private done = 0;
  /** The newest change a wait or a request asked to have on disk (on demand). */
  private wanted = 0;
  private waiting: { version: number; resolve: () => void; reject: (error: Error) => void }[] = [];
  private failure: Error | null = null;
  /**
   * The memory each replace encodes the text into, kept for the next. A checkpoint of 2,000 files
   * is about 500 KB, replaced as often as the disk allows: a fresh string and buffer for each
   * replace waited, old, for a full collection, and a backfill of 2,000 files peaked at 92 MB.
   */
  private bytes = Buffer.alloc(0);
  /** Aborted by stopWaiting(): a full disk is no longer waited out, and a pause ends at once. */
  private readonly waits = new AbortController();
  /** Given a FullDiskWait, a replace that finds no room waits and is tried again. */
  private readonly full: FullDiskRetry | null;
  private gate: WriteGate = () => null;

  constructor(
    private readonly path: string,
    /** The state as the file's text (in parts, joined as they are), taken when a replace starts. */
    private readonly text: () => string | readonly string[],
    private readonly durable: boolean,
    /** The error to report for a failed replace (it names the file for the user). */
    private readonly describe: (error: unknown) => Error,
    /** Written as soon as it changes; else on demand (see the class). */
    private readonly eager = true,
    /** Given, a replace that finds no room waits and is tried again (see FullDiskWait). */
    full?: FullDiskWait,
  ) {
    this.full = full ? new FullDiskRetry(full, this.waits.signal) : null;
  }

  /**
   * A full disk is no longer waited out (the run stops): the replace under way is tried once more
   * at once, and if the disk is still full it fails, as any other failure does.
   */
  stopWaiting(): void {
    this.waits.abort();
  }

  /**
   * What must be on disk before this file, whenever it is replaced: `gate` gives a wait while
   * something is not (null: nothing waits), and a wait that rejects fails the replace. The
   * --dead-letter file's letters waiting for disk room hold the positions that passed their lines.
   */
  writeAfter(gate: WriteGate): void {
    this.gate = gate;
  }

  /** A replace waits for disk room now (see FullDiskWait). */
  get waitingForRoom(): boolean {
    return this.full?.waiting ?? false;
  }

  /** The number of the newest change. */
  get changes(): number {
    return this.asked;
  }

  changed(): void {
    if (this.failure) throw this.failure;
    this.asked++;
    if (this.eager) this.request(this.asked);
  }

  /** Has the file written up to change `version` at least, without waiting for it. */
  request(version: number): void {
    if (this.failure || version <= this.done) return;
    this.wanted = Math.max(this.wanted, Math.min(version, this.asked));
    this.writing ??= this.drain();
  }

  /** Resolves once the file holds change `version` (and every one before); rejects if a replace failed. */
  savedThrough(version: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.done >= version) return Promise.resolve();
    this.request(version);
    return new Promise((resolve, reject) => this.waiting.push({ version, resolve, reject }));
  }

  /**
   * Resolves once the file is at most `behind` changes behind the state (0: it holds the newest);
   * rejects if a replace failed.
   */
  saved(behind = 0): Promise<void> {
    return this.savedThrough(this.asked - behind);
  }

  /** `text` as UTF-8, in the memory kept for it. */
  private encode(text: string | readonly string[]): Buffer {
    const parts = typeof text === 'string' ? [text] : text;
    let length = 0;
    for (const part of parts) length += Buffer.byteLength(part);
    if (this.bytes.length < length) this.bytes = Buffer.allocUnsafe(Math.max(length, 2 * this.bytes.length));
    let at = 0;
    for (const part of parts) at += this.bytes.write(part, at);
    return this.bytes.subarray(0, at);
  }

  private async drain(): Promise<void> {
    try {
      while (this.done < this.wanted) {
        // Asked again after each wait: the text below is taken at once, with nothing waiting.
        for (let gate = this.gate(); gate !== null; gate = this.gate()) await gate;
        const version = this.asked;
        try {
          await replaceFile(this.path, this.encode(this.text()), this.durable);
        } catch (error) {
          if (!this.full || !(await this.full.again(error, () => this.describe(error)))) throw error;
          continue;
        }
        this.full?.cleared();
        this.done = version;
        const due = this.waiting.filter((w) => w.version <= version);
        this.waiting = this.waiting.filter((w) => w.version > version);
        for (const w of due) w.resolve();
      }
    } catch (error) {
      this.failure = this.describe(error);
      for (const w of this.waiting) w.reject(this.failure);
      this.waiting = [];
    } finally {
      this.writing = null;
    }
  }
}

/**
 * The writer of one of our JSON state files (`{version: 1, ...}`, read by readStateFile in
 * src/durable.ts): the text is `state` as indented JSON (made by `text`, if given), and a failed replace is a CheckpointError
 * that `what` names ("the checkpoint"), as a failed read is.
 */
export function jsonStateWriter(
  path: string,
  state: object,
  what: string,
  durable: boolean,
  text?: () => string | readonly string[],
  eager = true,
  full?: FullDiskWait,
): StateFileWriter {
  return new StateFileWriter(
    path,
    text ?? (() => `${JSON.stringify(state, null, 1)}\n`),
    durable,
    (error) => new CheckpointError(`cannot write ${what} ${path}: ${describeSystemError(error)}`, { cause: error }),
    eager,
    full,
  );
}
