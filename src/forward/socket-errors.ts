/**
 * What a socket error on a forward connection means, as the error class that says whether it is
 * retried, and the hints for the mistakes that look like network trouble: TLS on one side only,
 * which Fluentd answers with a reset, silence or a HELO the TLS client cannot read.
 */
import { ConnectError, ConnectionLostError, TlsError, type ForwardError } from './errors.js';

const TLS_ERROR_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_OSSL)/;

/** The peer answered a TLS hello with bytes that are not TLS: a forward input with <security> sends its HELO first. */
export const NOT_TLS_CODES = /^ERR_SSL_(WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|RECORD_LAYER_FAILURE|HTTP_REQUEST)/;

/** What to check when TLS meets a server that may not serve it. */
export const TLS_HINT =
  'is TLS on at the server? (Fluentd serves it with <transport tls> in its forward source; without it, leave out --tls)';

/** What to check when a plain connection meets a server that may expect TLS. */
export const PLAIN_HINT = 'does the server expect TLS? (Fluentd does with <transport tls> in its forward source; then give --tls)';

/**
 * What to check when a TLS connection with a client certificate ends before the server said
 * anything: under TLS 1.3 the server checks the certificate after the client's side of the
 * handshake is done, and the alert of one it does not accept is often lost to the reset.
 */
export const CLIENT_CERT_HINT =
  'does the server accept the client certificate (--tls-cert)? Under TLS 1.3 one that does not ends the connection just after the handshake: check that a CA the server trusts signed it (Fluentd: ca_path in <transport tls>) and that it is made for client authentication (extendedKeyUsage clientAuth)';

/** What to check when a server ends the connection after PING without answering it. */
export const REFUSED_PING_HINT =
  "a server that does not accept the shared key (--shared-key), or the username and password, does that (Fluent Bit's forward input): check them against its configuration";

/** A TLS record (handshake 22 or alert 21, version 3.x): never the start of a msgpack message, an array or a map. */
export function isTlsRecord(chunk: Buffer): boolean {
  return chunk.length >= 2 && (chunk[0] === 0x15 || chunk[0] === 0x16) && chunk[1] === 0x03;
}

/** What to check when a server answers in text: a forward input speaks msgpack only. */
export const NOT_FORWARD_HINT =
  "is this Fluentd's forward input? (<source> @type forward, port 24224 unless set; in_http's 9880 and metrics ports speak HTTP)";

/** The first line of text quoted, at most this long. */
const QUOTED_TEXT = 80;

/**
 * The start of a peer's first bytes as `HTTP ("…")`, `JSON ("…")` or `text ("…")` when they are
 * a line of printable ASCII: an HTTP request or answer, a JSON array (in_forward also takes the
 * protocol's messages as JSON, which audit-ship does not), an SSH or SMTP banner; else null. No forward
 * message (an array or a map: HELO, PING, PONG, an ack, a chunk) starts with such a byte, which
 * msgpack reads as a small integer, so text is never mistaken for the protocol.
 */
export function textStart(chunk: Buffer): string | null {
  const line = /^[\x20-\x7e]{4,}/.exec(chunk.toString('latin1', 0, Math.min(chunk.length, 4 * QUOTED_TEXT)));
  if (!line) return null;
  const text = line[0].length > QUOTED_TEXT ? `${line[0].slice(0, QUOTED_TEXT)}…` : line[0];
  const kind = /HTTP\/\d|^<(!doctype|html)/i.test(text) ? 'HTTP' : text.startsWith('[') ? 'JSON' : 'text';
  return `${kind} ("${text}")`;
}

/**
 * What a server's first reply says when no forward server sends it: TLS on a plain connection,
 * or text. Otherwise msgpack reads text as small integers, said as "an unexpected message" at
 * every retry, or as a missing HELO with a shared key.
 */
export function notForwardReply(where: string, chunk: Buffer, tls: boolean): ConnectionLostError | null {
  if (!tls && isTlsRecord(chunk)) return new ConnectionLostError(`${where} answered in TLS; ${PLAIN_HINT}`);
  const text = textStart(chunk);
  return text ? new ConnectionLostError(`${where} answered in ${text}, not the Forward protocol; ${NOT_FORWARD_HINT}`) : null;
}

/** OpenSSL's reason ("wrong version number"), without the file and line its message carries. */
export function opensslReason(error: Error): string {
  const { reason } = error as { reason?: unknown };
  return typeof reason === 'string' ? reason : error.message.trim();
}

/** What the connection knew when its socket failed. */
export interface SocketContext {
  /** The name looked up, and how messages name the endpoint. */
  host: string;
  where: string;
  /** No connection was made yet. */
  connecting: boolean;
  /** TCP is connected and TLS's handshake under way. */
  tlsHandshake: boolean;
  /** `; TLS_HINT` while no answer came from this server yet, else ''. */
  hint: string;
  /** --tls-cert was given. */
  clientCert: boolean;
}

/** Alerts a server that wants a client certificate sends to a client with none (Fluentd's client_cert_auth). */
const NO_CLIENT_CERT = /^ERR_SSL_(SSLV3_ALERT_HANDSHAKE_FAILURE|TLSV13_ALERT_CERTIFICATE_REQUIRED)$/;
/** Alerts of a server that does not accept the client certificate it got. */
const CLIENT_CERT_REFUSED =
  /^ERR_SSL_(SSLV3_ALERT_BAD_CERTIFICATE|SSLV3_ALERT_CERTIFICATE_UNKNOWN|SSLV3_ALERT_UNSUPPORTED_CERTIFICATE|TLSV1_ALERT_UNKNOWN_CA|TLSV1_ALERT_ACCESS_DENIED)$/;

/** What TLS's error `code` means for the client's certificate, or ''. */
function clientCertHint(code: string, clientCert: boolean): string {
  if (!clientCert && NO_CLIENT_CERT.test(code)) {
    return '; a server that requires a client certificate (Fluentd: client_cert_auth in <transport tls>) does that: give --tls-cert and --tls-key';
  }
  if (clientCert && CLIENT_CERT_REFUSED.test(code)) {
    return ': the server does not accept the client certificate (--tls-cert): is it signed by a CA the server trusts (Fluentd: ca_path), and made for client authentication (extendedKeyUsage clientAuth)?';
  }
  return '';
}

export function classifySocketError(error: NodeJS.ErrnoException, context: SocketContext): ForwardError {
  const { host, where, connecting, tlsHandshake, hint, clientCert } = context;
  const code = error.code ?? '';
  const cause = { cause: error };
  if (NOT_TLS_CODES.test(code)) {
    return new TlsError(
      `TLS with ${where} failed: the server answered in something other than TLS (${opensslReason(error)})${hint}`,
      cause,
    );
  }
  if (TLS_ERROR_CODES.test(code))
    return new TlsError(`TLS with ${where} failed: ${opensslReason(error)}${clientCertHint(code, clientCert)}`, cause);
  if (tlsHandshake) {
    // Not the certificate's fault, and not always a setting: a restarting server, or a load
    // balancer before it, drops a connection this way too. Retried, with what it may mean.
    return new ConnectError(`cannot connect to ${where}: the connection ended during the TLS handshake (${error.message})${hint}`, cause);
  }
  if (/certificate|SSL|TLS/i.test(error.message)) return new TlsError(`TLS with ${where} failed: ${error.message}`, cause);
  if (connecting) {
    const reason = code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? `cannot resolve ${host}` : error.message;
    return new ConnectError(`cannot connect to ${where}: ${reason}`, cause);
  }
  return new ConnectionLostError(`connection to ${where} lost: ${error.message}`, cause);
}

/**
 * A connection that ended before the server said anything, as a server that expects TLS ends a
 * plain one, or one that does not accept the client certificate a TLS one; null without a `hint`
 * (`; PLAIN_HINT` or `; CLIENT_CERT_HINT`, while no answer came from the server yet), so that the
 * end is said as usual. `reset`: the error of a reset, absent for a close.
 */
export function endedUnanswered(where: string, hint: string, reset?: NodeJS.ErrnoException): ConnectionLostError | null {
  if (!hint) return null;
  if (!reset) return new ConnectionLostError(`${where} closed the connection before it sent anything${hint}`);
  return new ConnectionLostError(`connection to ${where} lost: reset before the server sent anything${hint}`, { cause: reset });
}

/** Why a server with no HELO at all may be silent (`silent`: it sent nothing while one was awaited): no <security> section, or TLS expected (`plainHint`). */
export function noHelo(silent: boolean, plainHint: string): string {
  if (!silent) return '';
  const tls = plainHint ? ', or does it expect TLS (then give --tls)' : '';
  return `: it sent no HELO; does the server have a <security> section with the shared key${tls}?`;
}

/**
 * Why a chunk goes unacked again and again on a live connection: a Fluentd forward input takes a
 * chunk over its chunk_size_limit and drops it, with only a warning in its own log; and a port
 * that is no forward input (in_tcp, in_http), or a proxy that passes no answers back, takes every
 * chunk and acks none. Only the first is likely once the server has acked others.
 */
export function unackedHint(times: number, frameBytes: number | undefined, server: string, anyAcked: boolean): string {
  const limit =
    'a Fluentd forward input drops a chunk over its chunk_size_limit without an ack, "dropped" in its log; ' +
    `this one is ${frameBytes} bytes: lower --chunk-bytes below that limit`;
  if (anyAcked) return ` (${times} times for this chunk: ${limit})`;
  return (
    ` (${times} times for this chunk, and ${server} has acked none in this run: is it a forward input, and does what lies between ` +
    `pass its answers back? An in_tcp or in_http port, or a proxy that does not, takes chunks and acks none; or ${limit})`
  );
}
