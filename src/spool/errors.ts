import { AuditShipError } from '../errors.js';

/** The spool cannot be used: locked by another process, not writable, out of space. */
export class SpoolError extends AuditShipError {
  override readonly code: string = 'AUDIT_SHIP_SPOOL';
}

/** A write raced with shutdown: the spool was closed first. Part of stopping, not a failure. */
export class SpoolClosedError extends SpoolError {
  override readonly code = 'AUDIT_SHIP_SPOOL_CLOSED';
}
