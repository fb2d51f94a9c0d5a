import { AuditShipError } from '../errors.js';

/** The spool cannot be used: locked by another process, not writable, out of space. */
export class SpoolError extends AuditShipError {
  override readonly code: string = 'ERR_AUDIT_SHIP_SPOOL';
}

/** A write raced with shutdown: the spool was closed first. Part of stopping, not a failure. */
export class SpoolClosedError extends SpoolError {
  override readonly code = 'ERR_AUDIT_SHIP_SPOOL_CLOSED';
}

/**
 * A chunk could not be written to the spool (a full disk, a quota, `ulimit -f`, an I/O error).
 * The chunk is not in the spool: it was not reported spooled, and the checkpoint never passes it.
 */
export class SpoolWriteError extends SpoolError {
  override readonly code = 'ERR_AUDIT_SHIP_SPOOL_WRITE';
  constructor(
    message: string,
    /** The system error's code (ENOSPC, EDQUOT, EFBIG, EIO …), when there is one. */
    readonly errno: string | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A chunk to be resent was found gone from the spool: its segment file was deleted by something
 * other than audit-ship. The spool counts its records as lost (exit 6); not reported as an error.
 */
export class SpoolChunkLostError extends SpoolError {
  override readonly code = 'ERR_AUDIT_SHIP_SPOOL_CHUNK_LOST';
}
