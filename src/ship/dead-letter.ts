/**
 * `--dead-letter FILE`: every invalid audit record, as one JSON line with where it came from, its
 * diagnostics and the line itself, so that it can be fixed and shipped again. Written
 * synchronously: invalid lines are rare, and a line reported here must be on disk before the
 * checkpoint moves past it.
 *
 * On a full disk a letter is held in memory and tried again once a second, as the spool's writes
 * and the checkpoint's saves wait for room: the run stopped at the first invalid line that found
 * no room (exit 4) while the spool waited out the same disk. Meanwhile reading waits after each
 * batch of lines (`kept()`), and the checkpoint and kubectl positions are not saved past a letter
 * that waits, so a crash cannot skip it.
 */
import { AppendFile, type Gone } from '../append-file.js';
import { isSpaceError } from '../durable.js';
import { FullDiskRetry, type FullDiskWait } from '../full-disk.js';
import type { Line } from '../input/lines.js';
import type { Diagnostic } from '../schema/diagnostic.js';

/** The same names as `lint --format json`: file, line, and each diagnostic's severity, field, code and message. */
export interface DeadLetter {
  file: string;
  line: number;
  diagnostics: { severity: string; field: string | null; code: string; message: string }[];
  /** The line as text; absent when it was over the length limit (it was never held in memory). */
  raw?: string;
  bytes: number;
}

/** Whether a file's first bytes are dead letters: a letter's first keys, in the order write() gives them. */
export const holdsDeadLetters = (head: string): boolean => /^\{"file":"(?:[^"\\]|\\.)*","line":\d+,"diagnostics":\[/.test(head);

/** How letters wait out a full disk (see FullDiskWait), told too how many wait. */
export interface LetterWait extends Omit<FullDiskWait, 'onFull'> {
  onFull: (error: Error, waiting: number) => void;
}

interface Waiting {
  text: string;
  withoutText: boolean;
}

export class DeadLetterFile {
  /** Letters that found no room, oldest first: written before any later one. */
  private waiting: Waiting[] = [];
  private retrying: Promise<void> | null = null;
  private failure: Error | null = null;
  private readonly waits = new AbortController();
  private keptHandler: (withoutText: boolean) => void = () => {};

  private constructor(
    private readonly file: AppendFile,
    private readonly full: LetterWait | null,
  ) {}

  static open(path: string, full: LetterWait | null = null): DeadLetterFile {
    const file = AppendFile.open(path, {
      option: '--dead-letter',
      mode: 0o600,
      writeError: (reason) => `--dead-letter ${path}: ${reason}`,
    });
    return new DeadLetterFile(file, full);
  }

  /** Called for each letter once it is in the file (`withoutText`: a line over the length limit). */
  onKept(handler: (withoutText: boolean) => void): void {
    this.keptHandler = handler;
  }

  /**
   * Null when every letter written so far is in the file; else a wait until they are, which
   * rejects when the disk stayed full past the limit (or after stopWaiting()).
   */
  kept(): Promise<void> | null {
    if (this.failure) return Promise.reject(this.failure);
    return this.retrying;
  }

  /** Letters wait in memory for disk room now. */
  get waitingForRoom(): boolean {
    return this.waiting.length > 0;
  }

  /** The run stops: letters waiting for room are tried once more, then fail. */
  stopWaiting(): void {
    this.waits.abort();
  }

  /**
   * Called when the file was found deleted while in use (by hand, a cleaner of old files; what went
   * into it before is gone with it) or moved away (rotated), and its path opened again with the
   * line just written.
   */
  onRemade(handler: (gone: Gone) => void): void {
    this.file.onRemade(handler);
  }

  write(file: string, line: Line, diagnostics: readonly Diagnostic[]): void {
    const letter: DeadLetter = {
      file,
      line: line.number,
      diagnostics: diagnostics.map((d) => ({ severity: d.severity, field: d.field, code: d.code, message: d.message })),
      ...(line.overLimit > 0 ? {} : { raw: line.bytes.toString('utf8') }),
      bytes: line.overLimit > 0 ? line.overLimit : line.bytes.length,
    };
    const waiting = { text: `${JSON.stringify(letter)}\n`, withoutText: line.overLimit > 0 };
    if (this.failure) throw this.failure;
    if (this.waiting.length === 0) {
      try {
        return this.append(waiting);
      } catch (error) {
        if (!this.full || this.waits.signal.aborted || !isSpaceError((error as Error).cause)) throw error;
        this.waiting.push(waiting);
        this.retrying = this.retry(error as Error);
        // Awaited through kept(); its failure also ends every later write().
        this.retrying.catch(() => {});
        return;
      }
    }
    this.waiting.push(waiting);
  }

  private append(letter: Waiting): void {
    this.file.append(letter.text);
    this.keptHandler(letter.withoutText);
  }

  /** Tries the waiting letters once a second until they are all written, the limit passes or stopWaiting(). */
  private async retry(first: Error): Promise<void> {
    const full = this.full!;
    // Each fill timed from its first failed letter, and said at once (src/full-disk.ts).
    const wait = new FullDiskRetry(
      { onFull: (error) => full.onFull(error, this.waiting.length), limitMs: full.limitMs },
      this.waits.signal,
    );
    let error = first;
    const told = () => error;
    try {
      while (await wait.again(error.cause, told)) {
        try {
          while (this.waiting.length > 0) {
            this.append(this.waiting[0]!);
            this.waiting.shift();
          }
          return;
        } catch (failed) {
          error = failed as Error;
        }
      }
      throw error;
    } catch (failure) {
      this.failure = failure as Error;
      throw failure;
    } finally {
      this.retrying = null;
    }
  }

  close(): void {
    // Letters still waiting are not kept (the counts say so), and no retry may write to the
    // descriptor once it is closed: its number may be another file's by then.
    this.waiting = [];
    this.waits.abort();
    this.file.close();
  }
}
