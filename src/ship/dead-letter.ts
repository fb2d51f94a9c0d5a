/**
 * `--dead-letter FILE`: every invalid audit record, as one JSON line with where it came from, its
 * diagnostics and the line itself, so that it can be fixed and shipped again. Written
 * synchronously: invalid lines are rare, and a line reported here must be on disk before the
 * checkpoint moves past it.
 */
import { closeSync, openSync } from 'node:fs';
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

export class DeadLetterFile {
  private constructor(
    private readonly path: string,
    private readonly fd: number,
  ) {}

  static open(path: string): DeadLetterFile {
    try {
      return new DeadLetterFile(path, openSync(path, 'a', 0o600));
    } catch (error) {
      throw new OutputError(`--dead-letter ${path}: ${describeCreateError(error, path)}`, { cause: error });
    }
  }

  write(file: string, line: Line, diagnostics: readonly Diagnostic[]): void {
    const letter: DeadLetter = {
      file,
      line: line.number,
      diagnostics: diagnostics.map((d) => ({ severity: d.severity, field: d.field, code: d.code, message: d.message })),
      ...(line.overLimit > 0 ? {} : { raw: line.bytes.toString('utf8') }),
      bytes: line.overLimit > 0 ? line.overLimit : line.bytes.length,
    };
    try {
      appendWholeSync(this.fd, `${JSON.stringify(letter)}\n`);
    } catch (error) {
      throw new OutputError(`--dead-letter ${this.path}: ${describeSystemError(error)}`, { cause: error });
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}
