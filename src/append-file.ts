/**
 * A file of lines a run appends to (`receive --out`, `ship --dead-letter`), each append whole or
 * not at all (src/durable.ts). Deleted while in use (by hand, a cleaner of old files), what is
 * appended after would go into the unlinked file and be gone with it, though reported kept: after
 * each append the file's link count is checked (one fstat), and at zero the file is made again and
 * the append repeated there. Appends are rare or large (an invalid line, a chunk's events), so the
 * check costs nothing that shows.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { appendWholeSync } from './durable.js';
import { OutputError, describeCreateError, describeSystemError } from './errors.js';

export interface AppendFileOptions {
  /** The option that names the file in errors (`--out`). */
  option: string;
  /** Permissions of the file when it is created. */
  mode: number;
  /** The message of a failed append, from the system's reason. */
  writeError: (reason: string) => string;
}

export class AppendFile {
  private remadeHandler: () => void = () => {};

  private constructor(
    readonly path: string,
    private readonly options: AppendFileOptions,
    private fd: number,
  ) {}

  /** Opens (or creates) the file for appending; an OutputError names the option and why. */
  static open(path: string, options: AppendFileOptions): AppendFile {
    return new AppendFile(path, options, openFor(path, options));
  }

  /** Called when the file was found deleted while in use, and made again. */
  onRemade(handler: () => void): void {
    this.remadeHandler = handler;
  }

  append(text: string): void {
    this.write(text);
    if (fstatSync(this.fd).nlink > 0) return;
    closeSync(this.fd);
    this.fd = openFor(this.path, this.options);
    this.remadeHandler();
    this.write(text);
  }

  close(): void {
    closeSync(this.fd);
  }

  private write(text: string): void {
    try {
      appendWholeSync(this.fd, text);
    } catch (error) {
      throw new OutputError(this.options.writeError(describeSystemError(error)), { cause: error });
    }
  }
}

function openFor(path: string, options: AppendFileOptions): number {
  try {
    return openSync(path, 'a', options.mode);
  } catch (error) {
    throw new OutputError(`${options.option} ${path}: ${describeCreateError(error, path)}`, { cause: error });
  }
}
