/**
 * `--dead-letter FILE`: every invalid audit record, as one JSON line with where it came from, its
 * diagnostics and the line itself, so that it can be fixed and shipped again. Written
 * synchronously: invalid lines are rare, and a line reported here must be on disk before the
 * checkpoint moves past it.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { appendWholeSync } from '../durable.js';
import { OutputError, describeCreateError, describeSystemError } from '../errors.js';
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
  private remadeHandler: () => void = () => {};

  private constructor(
    private readonly path: string,
    private fd: number,
  ) {}

  static open(path: string): DeadLetterFile {
    return new DeadLetterFile(path, openFile(path));
  }

  /** Called when the file was found deleted while in use, and made again. */
  onRemade(handler: () => void): void {
    this.remadeHandler = handler;
  }

  write(file: string, line: Line, diagnostics: readonly Diagnostic[]): void {
    const letter: DeadLetter = {
      file,
      line: line.number,
      diagnostics: diagnostics.map((d) => ({ severity: d.severity, field: d.field, code: d.code, message: d.message })),
      ...(line.overLimit > 0 ? {} : { raw: line.bytes.toString('utf8') }),
      bytes: line.overLimit > 0 ? line.overLimit : line.bytes.length,
    };
    const text = `${JSON.stringify(letter)}\n`;
    this.append(text);
    // Deleted while in use (by hand, a cleaner of old files): what went into it is gone with it,
    // and so would every later line be, counted as kept. The file is made again, the line with it.
    if (fstatSync(this.fd).nlink === 0) {
      closeSync(this.fd);
      this.fd = openFile(this.path);
      this.remadeHandler();
      this.append(text);
    }
  }

  private append(text: string): void {
    try {
      appendWholeSync(this.fd, text);
    } catch (error) {
      throw new OutputError(`--dead-letter ${this.path}: ${describeSystemError(error)}`, { cause: error });
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

function openFile(path: string): number {
  try {
    return openSync(path, 'a', 0o600);
  } catch (error) {
    throw new OutputError(`--dead-letter ${path}: ${describeCreateError(error, path)}`, { cause: error });
  }
}
