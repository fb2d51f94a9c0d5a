/** Failures of the forward link, one class each, with stable codes. `fatal` ones are not retried. */
import { AuditShipError } from '../errors.js';

export class ForwardError extends AuditShipError {
  override readonly code: string = 'ERR_AUDIT_SHIP_FORWARD';
  /** A fatal failure is a configuration problem that retrying cannot fix. */
  readonly fatal: boolean = false;
}

/** TCP connect failed: refused, unreachable, or the name does not resolve. */
export class ConnectError extends ForwardError {
  override readonly code = 'ERR_AUDIT_SHIP_CONNECT';
}

export class ConnectTimeoutError extends ForwardError {
  override readonly code = 'ERR_AUDIT_SHIP_CONNECT_TIMEOUT';
}

/** The TLS handshake failed: an untrusted certificate, a name mismatch, a protocol error. */
export class TlsError extends ForwardError {
  override readonly code = 'ERR_AUDIT_SHIP_TLS';
  override readonly fatal = true;
}

/** The server sent something the handshake does not allow, or nothing in time. */
export class HandshakeError extends ForwardError {
  override readonly code = 'ERR_AUDIT_SHIP_HANDSHAKE';
}

/** The server rejected our shared key or credentials, or failed to prove its own shared key. */
export class AuthError extends ForwardError {
  override readonly code = 'ERR_AUDIT_SHIP_AUTH';
  override readonly fatal = true;
}

/** The connection dropped or broke the protocol; what was in flight is resent. */
export class ConnectionLostError extends ForwardError {
  override readonly code = 'ERR_AUDIT_SHIP_CONNECTION_LOST';
}

export class AckTimeoutError extends ForwardError {
  override readonly code = 'ERR_AUDIT_SHIP_ACK_TIMEOUT';
}

/** Delivery gave up (--retry-timeout passed with no way to deliver). */
export class DeliveryError extends ForwardError {
  override readonly code: string = 'ERR_AUDIT_SHIP_DELIVERY';
  override readonly fatal = true;
}

/**
 * --retry-timeout passed with nothing delivered. Not a failure of audit-ship's own: the records
 * stay in the spool, and the exit status says so (left in spool, or input not fully read).
 */
export class RetryTimeoutError extends DeliveryError {
  override readonly code = 'ERR_AUDIT_SHIP_RETRY_TIMEOUT';
  /** Why the last try failed: the give-up is its outcome, so it is said there and not as "retrying". */
  lastFailure: ForwardError | null = null;
}
