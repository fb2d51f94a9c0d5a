/**
 * `--checkpoint FILE`: how far each input file is durably spooled, so that a backfill stopped by a
 * crash or Ctrl-C continues where it stopped. A position is recorded only after every line before
 * it is in the spool (or dead-lettered, or counted as skipped), so resuming from it loses nothing;
 * the lines between the last checkpoint and a crash are read again (at least once, never lost).
 * The file is replaced atomically (write, fsync, rename, fsync of the directory): a crash leaves
 * the old or the new one. Like the spool, it is locked (FILE.lock): two runs never share one.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fsyncDirSync, writeAllSync } from '../durable.js';
import { FileLock } from '../spool/lock.js';
import { AuditShipError, describeSystemError } from '../errors.js';

/** The checkpoint file cannot be read or written. */
export class CheckpointError extends AuditShipError {
  override readonly code = 'AUDIT_SHIP_CHECKPOINT';
}

export interface FileProgress {
  /** Decoded bytes (after gunzip) and lines durably handled. */
  offset: number;
  line: number;
  /** The file's size when the position was taken: a smaller file now is a different file. */
  size: number;
  done: boolean;
}

interface CheckpointFile {
  version: 1;
  files: Record<string, FileProgress>;
}

export type ResumePoint = { kind: 'done' } | { kind: 'resume'; offset: number; line: number } | { kind: 'start'; reason?: string };

export class Checkpoint {
  private constructor(
    private readonly path: string,
    private readonly state: CheckpointFile,
    private readonly lock: FileLock,
  ) {}

  /** Reads the checkpoint (none yet: an empty one) and locks it (`FILE.lock`). */
  static async load(path: string): Promise<Checkpoint> {
    const state = readState(path);
    try {
      return new Checkpoint(path, state, await FileLock.acquire(`${path}.lock`, `the checkpoint ${path}`, 'give each run its own --checkpoint'));
    } catch (error) {
      throw new CheckpointError((error as Error).message, { cause: error });
    }
  }

  close(): void {
    this.lock.release();
  }

  /** Where to start reading `file`, whose size is now `size`. */
  resumePoint(file: string, size: number): ResumePoint {
    const progress = this.state.files[resolve(file)];
    if (!progress) return { kind: 'start' };
    if (size < progress.size) return { kind: 'start', reason: `is smaller than when it was checkpointed (${size} < ${progress.size} bytes): reading it from the start` };
    if (progress.done && size === progress.size) return { kind: 'done' };
    return { kind: 'resume', offset: progress.offset, line: progress.line };
  }

  record(file: string, progress: FileProgress): void {
    this.state.files[resolve(file)] = progress;
    this.save();
  }

  private save(): void {
    const temporary = `${this.path}.tmp`;
    try {
      const fd = openSync(temporary, 'w', 0o600);
      try {
        writeAllSync(fd, `${JSON.stringify(this.state, null, 1)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, this.path);
      fsyncDirSync(dirname(resolve(this.path)));
    } catch (error) {
      throw new CheckpointError(`cannot write the checkpoint ${this.path}: ${describeSystemError(error)}`, { cause: error });
    }
  }
}

function readState(path: string): CheckpointFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, files: {} };
    throw new CheckpointError(`cannot read the checkpoint ${path}: ${describeSystemError(error)}`, { cause: error });
  }
  try {
    const state = JSON.parse(text) as CheckpointFile;
    if (state.version !== 1 || typeof state.files !== 'object' || state.files === null) throw new Error('unknown layout');
    return state;
  } catch (error) {
    throw new CheckpointError(`the checkpoint ${path} is not an audit-ship checkpoint (${(error as Error).message}); move it away to start over`);
  }
}
