/**
 * One error class per failure, each with a stable `code` that scripts and tests can match.
 * The CLI maps them to exit codes in one place (src/cli/exit.ts).
 */
import { dirname } from 'node:path';

export class AuditShipError extends Error {
  readonly code: string = 'ERR_AUDIT_SHIP_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The command line is wrong: an unknown option, a bad value. */
export class UsageError extends AuditShipError {
  override readonly code = 'ERR_AUDIT_SHIP_USAGE';
}

/** An input cannot be opened or read (missing file, corrupt gzip). */
export class InputError extends AuditShipError {
  override readonly code: string = 'ERR_AUDIT_SHIP_INPUT';
}

/** An input that was opened but failed while it was read: a truncated or corrupt gzip, a read error. */
export class InputReadError extends InputError {
  override readonly code = 'ERR_AUDIT_SHIP_INPUT_READ';
  /** What went wrong, without the input's name (the message is `SOURCE: REASON`). */
  readonly reason: string;
  constructor(
    readonly source: string,
    /** What went wrong, without where. */
    readonly detail: string,
    /** Bytes of the input (compressed bytes for gzip) taken in when the error was found: it lies before this. */
    readonly inputOffset: number,
    options?: { cause?: unknown },
  ) {
    // Nothing taken in yet: "before input byte 0" would say nothing.
    const reason = inputOffset > 0 ? `${detail}, before input byte ${inputOffset}` : detail;
    super(`${source}: ${reason}`, options);
    this.reason = reason;
  }
}

/** An input that is clearly not text lines: another compression format, UTF-16, binary data. */
export class NotTextError extends InputError {
  override readonly code = 'ERR_AUDIT_SHIP_NOT_TEXT';
  constructor(
    readonly source: string,
    /** What the input holds and what to do instead, without its name. */
    readonly reason: string,
  ) {
    super(`${source}: ${reason}`);
  }

  /**
   * The same error as `audit-ship COMMAND` should say it: a hint's pipe (`… | audit-ship -`) feeds
   * the default command, ship, where a `lint` run wants `… | audit-ship lint -`.
   */
  forCommand(command: string): NotTextError {
    return new NotTextError(this.source, this.reason.replaceAll('| audit-ship -', `| audit-ship ${command} -`));
  }
}

/** An output (the --out file, the dead-letter file) cannot be written. */
export class OutputError extends AuditShipError {
  override readonly code: string = 'ERR_AUDIT_SHIP_OUTPUT';
}

/** A server cannot listen: the port is in use, or the address is not this host's. */
export class ListenError extends AuditShipError {
  override readonly code = 'ERR_AUDIT_SHIP_LISTEN';
}

/** Describes a Node system error the way a user reads it: "no such file", not "ENOENT". */
export function describeSystemError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'not a directory';
    case 'EEXIST':
      // From mkdir: the path is there, and is not a directory.
      return 'a file of that name is in the way';
    case 'EADDRINUSE':
      return 'the address is in use';
    case 'EADDRNOTAVAIL':
      return "the address is not one of this host's";
    case 'ENOTFOUND':
      return 'no such host name (it does not resolve)';
    case 'ENOSPC':
      return 'no space left on device (ENOSPC)';
    case 'EDQUOT':
      return 'disk quota exceeded (EDQUOT)';
    case 'EFBIG':
      return 'file too large for the file size limit, `ulimit -f` (EFBIG)';
    case 'EIO':
      return `input/output error (EIO)`;
    case 'EROFS':
      return 'read-only file system';
    case 'ENXIO':
      // open() of a Unix socket, or of a device with nothing behind it.
      return 'not a file that can be read: a socket, or a device with nothing behind it (ENXIO)';
    case 'Z_DATA_ERROR':
    case 'Z_BUF_ERROR':
      return `not valid gzip data (${e.message})`;
    default:
      return e instanceof Error ? e.message : String(error);
  }
}

/**
 * Why a file could not be created at `path`: as describeSystemError, but ENOENT, which then means
 * a missing directory, names it ("no such file or directory" sent users looking for the very file
 * they had asked to have made).
 */
export function describeCreateError(error: unknown, path: string): string {
  if ((error as NodeJS.ErrnoException)?.code === 'ENOENT') return `the directory ${dirname(path)} does not exist`;
  return describeSystemError(error);
}

/** A checkpoint (--checkpoint, or the kubectl positions beside the spool) cannot be read or written. */
export class CheckpointError extends AuditShipError {
  override readonly code = 'ERR_AUDIT_SHIP_CHECKPOINT';
}
