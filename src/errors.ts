/**
 * One error class per failure, each with a stable `code` that scripts and tests can match.
 * The CLI maps them to exit codes in one place (src/cli/exit.ts).
 */

export class AuditShipError extends Error {
  readonly code: string = 'AUDIT_SHIP_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The command line is wrong: an unknown option, a bad value. */
export class UsageError extends AuditShipError {
  override readonly code = 'AUDIT_SHIP_USAGE';
}

/** An input cannot be opened or read (missing file, corrupt gzip). */
export class InputError extends AuditShipError {
  override readonly code = 'AUDIT_SHIP_INPUT';
}

/** An output (the --out file, the dead-letter file) cannot be written. */
export class OutputError extends AuditShipError {
  override readonly code: string = 'AUDIT_SHIP_OUTPUT';
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
    case 'ENOSPC':
      return 'no space left on device';
    case 'EROFS':
      return 'read-only file system';
    case 'Z_DATA_ERROR':
    case 'Z_BUF_ERROR':
      return `not valid gzip data (${e.message})`;
    default:
      return e instanceof Error ? e.message : String(error);
  }
}
