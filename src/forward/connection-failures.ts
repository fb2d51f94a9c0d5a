/**
 * Why a connection failed, said from what it knew when it did: its state, whether the server had
 * answered on it or earlier in the run, and its TLS options. A failure with no answer yet may be
 * TLS on one side only, a client certificate the server does not take, or a shared key it refuses,
 * and is said with what to check. Apart from Connection, whose concern is the socket and the
 * handshake.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { ConnectionOptions, ConnectionState } from './connection.js';
import { describe, type Endpoint } from './endpoint.js';
import { ConnectTimeoutError, ConnectionLostError, HandshakeError, type ForwardError } from './errors.js';
import {
  CLIENT_CERT_HINT,
  classifySocketError,
  endedUnanswered,
  noHelo,
  PLAIN_HINT,
  REFUSED_PING_HINT,
  TLS_HINT,
} from './socket-errors.js';
import { span } from '../span.js';

export interface ConnectionFacts {
  endpoint: Endpoint;
  state: ConnectionState;
  /** The server answered on this connection (a byte, or TLS's handshake). */
  heard: boolean;
  /** A reply's first bytes came (after TLS's handshake). */
  replied: boolean;
  /** TCP is connected and the TLS handshake under way. */
  tlsHandshake: boolean;
  options: Omit<ConnectionOptions, 'tls'> & { tls: TlsConnectionOptions | null };
}

/** `; hint` where TLS on one side only may be why nothing came back: no answer on this connection or before it. */
function hint(f: ConnectionFacts, text: string): string {
  return f.heard || f.options.answeredBefore ? '' : `; ${text}`;
}

export function connectTimedOut(f: ConnectionFacts): ConnectTimeoutError {
  // A Fluentd forward input without TLS reads the TLS hello as broken chunks and answers nothing.
  const why = f.tlsHandshake ? `: the TLS handshake had no answer${hint(f, TLS_HINT)}` : '';
  return new ConnectTimeoutError(`connect to ${describe(f.endpoint)} timed out after ${span(f.options.connectTimeoutMs)}${why}`);
}

export function handshakeTimedOut(f: ConnectionFacts): HandshakeError {
  const silence = noHelo(f.state === 'awaiting-helo' && !f.heard, f.options.tls ? '' : hint(f, PLAIN_HINT));
  return new HandshakeError(`no handshake with ${describe(f.endpoint)} within ${span(f.options.handshakeTimeoutMs)}${silence}`);
}

export function socketFailed(f: ConnectionFacts, error: NodeJS.ErrnoException): ForwardError {
  if (error.code === 'ECONNRESET') {
    const unanswered = endedAfterPing(f, error) ?? endedWithNoAnswer(f, error);
    if (unanswered) return unanswered;
  }
  return classifySocketError(error, {
    host: f.endpoint.host,
    where: describe(f.endpoint),
    connecting: f.state === 'connecting',
    tlsHandshake: f.tlsHandshake,
    hint: hint(f, TLS_HINT),
    clientCert: Boolean(f.options.tls?.cert),
  });
}

export function closedByPeer(f: ConnectionFacts): ConnectionLostError {
  return endedAfterPing(f) ?? endedWithNoAnswer(f) ?? new ConnectionLostError(`${describe(f.endpoint)} closed the connection`);
}

/**
 * A connection ended between our PING and the server's PONG. Fluentd answers a PING it refuses
 * with a PONG that says why; Fluent Bit's forward input closes the connection without one.
 */
function endedAfterPing(f: ConnectionFacts, reset?: NodeJS.ErrnoException): ConnectionLostError | null {
  if (f.state !== 'awaiting-pong') return null;
  const where = describe(f.endpoint);
  const how = reset ? `connection to ${where} lost: reset` : `${where} closed the connection`;
  return new ConnectionLostError(`${how} after our PING, with no PONG; ${REFUSED_PING_HINT}`, reset ? { cause: reset } : undefined);
}

/**
 * A reset or close once connected, before the server said anything in the run: a plain one said
 * with the TLS hint, a TLS one that presented a client certificate with the hint about it.
 */
function endedWithNoAnswer(f: ConnectionFacts, reset?: NodeJS.ErrnoException): ConnectionLostError | null {
  const { tls, repliedBefore } = f.options;
  let text = '';
  if (f.state !== 'connecting') {
    if (!tls) text = hint(f, PLAIN_HINT);
    else if (tls.cert && !f.replied && !repliedBefore) text = `; ${CLIENT_CERT_HINT}`;
  }
  return endedUnanswered(describe(f.endpoint), text, reset);
}
