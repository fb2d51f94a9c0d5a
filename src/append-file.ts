/**
 * A file of lines a run appends to (`receive --out`, `ship --dead-letter`), each append whole or
 * not at all (src/durable.ts). Deleted while in use (by hand, a cleaner of old files), what is
 * appended after would go into the unlinked file and be gone with it, though reported kept; moved
 * away (logrotate renames it, then compresses and deletes the old name's file), it would all go on
 * into the rotated file, where compression loses what comes after it read the file. So after each
 * append the file is checked (an fstat and a stat): unlinked, or no longer the file its path names,
 * the path is opened again (made if need be) and the append repeated there: a line is then in both,
 * never in neither. Appends are rare or large (an invalid line, a chunk's events), so the check
 * costs nothing that shows.
 */
import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
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

/** What became of the file in use: its last link removed, or its path now names another file or none. */
export type Gone = 'deleted' | 'moved';

export class AppendFile {
  private remadeHandler: (gone: Gone) => void = () => {};

  private constructor(
    readonly path: string,
    private readonly options: AppendFileOptions,
    private fd: number,
  ) {}

  /** Opens (or creates) the file for appending; an OutputError names the option and why. */
  static open(path: string, options: AppendFileOptions): AppendFile {
    return new AppendFile(path, options, openFor(path, options));
  }

  /** Called when the file was found deleted or moved while in use, and its path opened again. */
  onRemade(handler: (gone: Gone) => void): void {
    this.remadeHandler = handler;
  }

  append(text: string): void {
    this.write(text);
    const gone = this.gone();
    if (gone === null) return;
    closeSync(this.fd);
    this.fd = openFor(this.path, this.options);
    this.remadeHandler(gone);
    this.write(text);
  }

  /** Whether the file appended to is still the one its path names. */
  private gone(): Gone | null {
    const own = fstatSync(this.fd);
    if (own.nlink === 0) return 'deleted';
    try {
      const named = statSync(this.path);
      return named.ino === own.ino && named.dev === own.dev ? null : 'moved';
    } catch (error) {
      // Nothing under the path: moved away. Another failure (a directory made unreadable) says
      // nothing of where the file went: it is written on.
      const code = (error as NodeJS.ErrnoException).code;
      return code === 'ENOENT' || code === 'ENOTDIR' ? 'moved' : null;
    }
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
