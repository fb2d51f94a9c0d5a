/**
 * The options that say where and how to forward, with their defaults, and their conversion into
 * sender options. Secrets can come from the environment so that they need not appear in `ps`.
 */
import { hostname } from 'node:os';
import { InvalidArgumentError, Option } from 'commander';
import { UsageError } from '../errors.js';
import { DEFAULT_CHUNK_LIMITS } from '../forward/chunk-limits.js';
import { describe, type Endpoint } from '../forward/endpoint.js';
import { ipVersion } from '../ip.js';
import type { SenderOptions } from '../forward/sender.js';
import type { ServerSpec } from '../forward/server-group.js';
import { byteSize, duration, integer, listReplacing, nonEmpty } from './options.js';
import { TlsFiles } from './tls-files.js';
import { MAX_TAG_BYTES } from '../spool/format.js';

export const DEFAULT_PORT = 24224;
const DEFAULT_HOSTS: readonly string[] = ['127.0.0.1'];
/** A cluster's DNS (CoreDNS with kubeadm's `cache 30`) may answer from a cache up to 30 s old: looking more often buys little. */
export const DEFAULT_DNS_REFRESH_MS = 30_000;
const MAX_WEIGHT = 1000;
/** Under `deploy_audit.`, which the platform's Fluentd setup matches with `deploy_audit.**`. */
export const DEFAULT_TAG = 'deploy_audit.audit_ship';

/** A tag: not empty, and short enough for the spool to keep with each chunk (src/spool/format.ts). */
function tagArgument(value: string): string {
  const tag = nonEmpty('a tag: Fluentd routes events by it')(value);
  if (Buffer.byteLength(tag) > MAX_TAG_BYTES) throw new InvalidArgumentError(`a tag is ${MAX_TAG_BYTES} bytes at most.`);
  return tag;
}

/**
 * A note for a tag that the platform's Fluentd setup does not take. Fluentd acks events that no
 * <match> takes and drops them, said only in its own log: a run with `--tag other.audit` against
 * `<match deploy_audit.**>` reported 50 of 50 records acked, exit 0, and none was kept.
 */
export function tagNote(tag: string): string | null {
  if (tag === 'deploy_audit' || tag.startsWith('deploy_audit.')) return null;
  return (
    `audit-ship: --tag ${tag} is outside deploy_audit.**, the <match> of the platform's Fluentd setup: ` +
    `Fluentd acks events that no <match> takes and drops them, saying so only in its own log ("no patterns matched"); ` +
    `make sure one takes this tag\n`
  );
}

export interface ForwardCliOptions {
  host: string[];
  standby?: string[];
  dnsRefresh: number;
  port: number;
  tag: string;
  sharedKey?: string;
  selfHostname: string;
  username?: string;
  password?: string;
  tls: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsServername?: string;
  tlsInsecure: boolean;
  connectTimeout: number;
  ackTimeout: number;
  window: number;
  /** Absent: 2 minutes once a finite input has ended, never for a live tail (DEFAULT_RETRY_TIMEOUT_MS). */
  retryTimeout?: number;
  chunkRecords: number;
  chunkBytes: number;
  compress: 'gzip' | 'none';
  /** Absent: zlib's default, 6; only with --compress gzip. */
  compressLevel?: number;
}

/** zlib's own default level, for --compress gzip without --compress-level. */
export const DEFAULT_COMPRESS_LEVEL = 6;
/** Chunk bodies are held in memory, a window of them: 64 MiB each is already far over what Fluentd setups take. */
export const MAX_CHUNK_BYTES = 64 * 1024 ** 2;

export function forwardOptions(): Option[] {
  return [
    new Option(
      '--host <host[:port][*weight]...>',
      'Fluentd forward server; several (repeated or comma-separated) share the chunks by weight (default 1); a name stands for every address it resolves to',
    )
      .default(DEFAULT_HOSTS, '127.0.0.1')
      .argParser(listReplacing(DEFAULT_HOSTS))
      .env('AUDIT_SHIP_HOST'),
    new Option('--standby <host[:port][*weight]...>', 'server that takes chunks only while every --host server is down')
      .argParser(listReplacing([]))
      .env('AUDIT_SHIP_STANDBY'),
    new Option('--dns-refresh <duration>', 'look host names up again this often, to follow scaled aggregators (0: once)')
      .default(DEFAULT_DNS_REFRESH_MS, '30s')
      .argParser(duration(0))
      .env('AUDIT_SHIP_DNS_REFRESH'),
    new Option('--port <port>', 'port for hosts given without one')
      .default(DEFAULT_PORT)
      .argParser(integer(1, 65535))
      .env('AUDIT_SHIP_PORT'),
    new Option('--tag <tag>', 'Fluentd tag of the events').default(DEFAULT_TAG).env('AUDIT_SHIP_TAG').argParser(tagArgument),
    // Empty, a shared key or password is most often a Secret's key that holds nothing: sent as is,
    // it proves nothing (anyone can make the handshake's digests of an empty key).
    new Option('--shared-key <key>', "shared key of the server's <security> section")
      .env('AUDIT_SHIP_SHARED_KEY')
      .argParser(nonEmpty("the shared_key of the server's <security> section", 'an empty key proves nothing')),
    new Option('--self-hostname <name>', 'hostname sent in the handshake').default(hostname(), 'this host').env('AUDIT_SHIP_SELF_HOSTNAME'),
    new Option('--username <name>', 'user for <security> user_auth')
      .env('AUDIT_SHIP_USERNAME')
      .argParser(nonEmpty("a <user> of the server's <security> section")),
    new Option('--password <password>', 'password for --username')
      .env('AUDIT_SHIP_PASSWORD')
      .argParser(nonEmpty("the password of the server's <user>", 'an empty password proves nothing')),
    new Option('--tls', 'connect with TLS').default(false),
    // Any TLS option turns TLS on: commander sets --tls for them.
    new Option('--tls-ca <file>', 'PEM CA bundle to verify the server (default: the system CAs)')
      .implies({ tls: true })
      .argParser(nonEmpty('a file')),
    new Option('--tls-cert <file>', 'PEM client certificate, for servers that require one')
      .implies({ tls: true })
      .argParser(nonEmpty('a file')),
    new Option('--tls-key <file>', 'PEM private key for --tls-cert').argParser(nonEmpty('a file')),
    new Option('--tls-servername <name>', 'name to verify in the server certificate (default: the host)').implies({ tls: true }),
    new Option('--tls-insecure', 'skip server certificate verification (never in production)')
      .default(false)
      .implies({ tls: true })
      .conflicts(['tlsCa', 'tlsServername']),
    new Option('--connect-timeout <duration>', 'connect timeout, and again for the handshake').default(5000, '5s').argParser(duration(1)),
    new Option('--ack-timeout <duration>', 'resend a chunk whose ack has not come within this (to another server if one is up)')
      .default(60_000, '60s')
      .argParser(duration(1)),
    new Option('--window <n>', 'chunks in flight awaiting their ack, per server').default(8).argParser(integer(1, 1024)),
    new Option(
      '--retry-timeout <duration>',
      'give up when nothing could be delivered for this long; the records stay in the spool (0: never; default: 2m once a finite input has ended, never for a live tail)',
    ).argParser(duration(0)),
    new Option('--chunk-records <n>', 'records per chunk, at most').default(DEFAULT_CHUNK_LIMITS.maxRecords).argParser(integer(1)),
    new Option('--chunk-bytes <size>', 'encoded bytes per chunk before it is closed')
      .default(DEFAULT_CHUNK_LIMITS.maxBytes, '1m')
      .argParser(byteSize(1024, MAX_CHUNK_BYTES)),
    new Option('--compress <kind>', 'gzip chunks (CompressedPackedForward)').choices(['gzip', 'none']).default('none'),
    new Option('--compress-level <n>', "gzip level for --compress gzip: 1 is fastest, 9 smallest (default: 6, zlib's)").argParser(
      integer(1, 9),
    ),
  ];
}

const HOST_NAME = /^(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

/** A host that can never connect (a typo like `[::1`) is a usage error at once, not retried for ever. */
function checkHost(host: string, given: string, flag: string): string {
  if (ipVersion(host) !== 0 || HOST_NAME.test(host)) return host;
  throw new UsageError(`${flag} ${given}: ${JSON.stringify(host)} is not a host name or an IP address (IPv6 with a port: [::1]:24224)`);
}

function checkPort(text: string, given: string, flag: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new UsageError(`${flag} ${given}: the port must be 1-65535`);
  return port;
}

/** `host`, `host:port`, `[v6addr]:port` or a bare IPv6 address, each optionally `*weight`; anything else is a usage error. */
export function parseServer(value: string, defaultPort: number, flag = '--host'): ServerSpec {
  const m = /^(.*)\*([^*]*)$/.exec(value);
  if (!m) return parseEndpoint(value, defaultPort, flag);
  const weight = Number(m[2]);
  if (!/^\d+$/.test(m[2]!) || weight < 1 || weight > MAX_WEIGHT) {
    throw new UsageError(`${flag} ${value}: the weight after * must be a whole number from 1 to ${MAX_WEIGHT}`);
  }
  return { ...parseEndpoint(m[1]!, defaultPort, flag), weight };
}

export function parseEndpoint(value: string, defaultPort: number, flag = '--host'): Endpoint {
  // A URL (Docker's fluentd-address takes tcp://host:port) once got "the port must be 1-65535".
  const scheme = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)\/?$/i.exec(value);
  if (scheme) {
    const tls = /^(tls|https|ssl)$/i.test(scheme[1]!) ? ', with --tls' : '';
    throw new UsageError(`${flag} ${value}: give host[:port] without a scheme (${flag} ${scheme[2]}${tls})`);
  }
  const bracketed = /^\[([^\]]+)\](?::(\d*))?$/.exec(value);
  if (bracketed) {
    if (ipVersion(bracketed[1]!) !== 6) throw new UsageError(`${flag} ${value}: ${JSON.stringify(bracketed[1])} is not an IPv6 address`);
    return { host: bracketed[1]!, port: bracketed[2] !== undefined ? checkPort(bracketed[2], value, flag) : defaultPort };
  }
  const parts = value.split(':');
  if (parts.length === 2) return { host: checkHost(parts[0]!, value, flag), port: checkPort(parts[1]!, value, flag) };
  return { host: checkHost(value, value, flag), port: defaultPort };
}

/** One spelling of a host: names in lower case, IPv6 addresses as a URL writes them (`0:0::1` is `::1`). */
function sameHost(host: string): string {
  if (ipVersion(host) !== 6) return host.toLowerCase();
  try {
    return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  } catch {
    return host.toLowerCase(); // a zone (fe80::1%eth0), which URLs do not take
  }
}

/**
 * A server given twice: the sender kept the first and dropped the other in silence, its weight or
 * its standby role with it (`--host a*1,a*5` shipped at weight 1, `--host a --standby a` had no standby).
 */
function refuseNamedTwice(endpoints: readonly ServerSpec[], standby: readonly ServerSpec[]): void {
  const seen = new Map<string, string>();
  for (const [flag, specs] of [
    ['--host', endpoints],
    ['--standby', standby],
  ] as const) {
    for (const spec of specs) {
      const server = describe({ host: sameHost(spec.host), port: spec.port });
      const before = seen.get(server);
      if (before === flag)
        throw new UsageError(`${flag} ${server} is given twice: give each server once (with *WEIGHT for a larger share)`);
      if (before) throw new UsageError(`--standby ${server} is also a --host: a server is either one or the other`);
      seen.set(server, flag);
    }
  }
}

/**
 * The --tls-* files, read and checked (a UsageError names the first that cannot be used); null
 * without TLS. `note` says that a file read again for a new connection cannot be used, `info` that
 * one changed and is taken up (nothing to attend to: --quiet leaves it out).
 */
export function tlsFilesFrom(
  o: ForwardCliOptions,
  note: (text: string) => void = () => {},
  info: (text: string) => void = note,
): TlsFiles | null {
  // Before the rest: --tls-key alone does not turn TLS on.
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (!o.tls) return null;
  const fixed = { ...(o.tlsServername ? { servername: o.tlsServername } : {}), rejectUnauthorized: !o.tlsInsecure };
  return new TlsFiles({ ca: o.tlsCa, cert: o.tlsCert, key: o.tlsKey }, fixed, note, info);
}

/** The sender's options; `tls` those files, read at each new connection. */
export function senderOptionsFrom(o: ForwardCliOptions, tls = tlsFilesFrom(o)): SenderOptions {
  // An empty value (`--host ''`, or AUDIT_SHIP_HOST set from an empty ConfigMap key) once left the
  // sender no server at all, and the run ended in an internal error with its records spooled.
  if (o.host.length === 0) throw new UsageError('--host names no server (an empty value, or AUDIT_SHIP_HOST set empty?)');
  if (o.password !== undefined && o.username === undefined) throw new UsageError('--password needs --username');
  // Without this a user named alone was sent with an empty password, and the server's "username/password
  // mismatch" did not say which of the two was missing.
  if (o.username !== undefined && o.password === undefined) {
    throw new UsageError("--username needs --password (--password '' for an empty one)");
  }
  if ((o.username !== undefined || o.password !== undefined) && o.sharedKey === undefined) {
    throw new UsageError('--username and --password need --shared-key: user auth is part of the shared-key handshake');
  }
  if (o.compressLevel !== undefined && o.compress !== 'gzip') throw new UsageError('--compress-level applies only with --compress gzip');
  const endpoints = o.host.map((h) => parseServer(h, o.port));
  const standby = (o.standby ?? []).map((h) => parseServer(h, o.port, '--standby'));
  refuseNamedTwice(endpoints, standby);
  return {
    endpoints,
    standby,
    dnsRefreshMs: o.dnsRefresh,
    tag: o.tag,
    window: o.window,
    ackTimeoutMs: o.ackTimeout,
    backoff: { initialMs: 500, maxMs: 30_000 },
    retryTimeoutMs: o.retryTimeout ?? 0,
    connectTimeoutMs: o.connectTimeout,
    handshakeTimeoutMs: o.connectTimeout,
    keepAliveMs: 30_000,
    security:
      o.sharedKey === undefined
        ? null
        : { sharedKey: o.sharedKey, selfHostname: o.selfHostname, username: o.username, password: o.password },
    tls: tls?.options ?? null,
  };
}
