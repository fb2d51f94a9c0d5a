/**
 * `--dead-letter FILE`: every invalid audit record, as one JSON line with where it came from, its
 * diagnostics and the line itself, so that it can be fixed and shipped again. Written
 * synchronously: invalid lines are rare, and a line reported here must be on disk before the
 * checkpoint moves past it.
 */
import { AppendFile, type Gone } from '../append-file.js';
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

export class DeadLetterFile {
  private constructor(private readonly file: AppendFile) {}

  static open(path: string): DeadLetterFile {
    const file = AppendFile.open(path, {
      option: '--dead-letter',
      mode: 0o600,
      writeError: (reason) => `--dead-letter ${path}: ${reason}`,
    });
    return new DeadLetterFile(file);
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
    this.file.append(`${JSON.stringify(letter)}\n`);
  }

  close(): void {
    this.file.close();
  }
}
