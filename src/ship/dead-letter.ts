/**
 * `--dead-letter FILE`: every invalid audit record, as one JSON line with where it came from, its
 * diagnostics and the line itself, so that it can be fixed and shipped again. Written
 * synchronously: invalid lines are rare, and a line reported here must be on disk before the
 * checkpoint moves past it.
 */
import { closeSync, openSync } from 'node:fs';
import { appendWholeSync } from '../durable.js';
import { OutputError, describeSystemError } from '../errors.js';
import type { Line } from '../input/lines.js';
import type { Diagnostic } from '../schema/diagnostic.js';

export interface DeadLetter {
  source: string;
  line: number;
  diagnostics: { code: string; severity: string; path: string | null; message: string }[];
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
      throw new OutputError(`--dead-letter ${path}: ${describeSystemError(error)}`, { cause: error });
    }
  }

  write(source: string, line: Line, diagnostics: readonly Diagnostic[]): void {
    const letter: DeadLetter = {
      source,
      line: line.number,
      diagnostics: diagnostics.map((d) => ({ code: d.code, severity: d.severity, path: d.field, message: d.message })),
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
