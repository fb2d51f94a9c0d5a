/**
 * The PEM files named by --tls-* options: read and checked at start, with errors that name the
 * option and the file, and read again for each new connection and each scrape (when they expire).
 * A Kubernetes Secret mounted as a volume is updated in place when its certificate is renewed
 * (cert-manager does so before expiry): read once, the run kept the old certificate until a
 * server refused it, and then exited.
 */
import { createRequire } from 'node:module';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { UsageError } from '../errors.js';
import type { TlsCertificateFile } from '../metrics/metrics.js';
import { readSmallFile } from './small-file.js';

// node:tls and node:crypto load OpenSSL (about 1 MB): only a run with TLS reads these files.
const require = createRequire(import.meta.url);
const loadTls = () => require('node:tls') as typeof import('node:tls');
const loadCrypto = () => require('node:crypto') as typeof import('node:crypto');

const PEM_LABEL = { certificate: /-----BEGIN CERTIFICATE-----/, 'private key': /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/ };
const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The file's bytes, checked to hold at least one PEM block of the kind the option takes. */
export function readPem(option: string, path: string | undefined, kind: keyof typeof PEM_LABEL): Buffer | undefined {
  if (path === undefined) return undefined;
  const pem = readSmallFile(option, path, `a PEM ${kind}`);
  if (!PEM_LABEL[kind].test(pem.toString('latin1'))) throw new UsageError(`${option} ${path}: holds no PEM ${kind}`);
  return pem;
}

/**
 * When each certificate of the file expires (seconds since the epoch), each block parsed: OpenSSL
 * passes over a damaged one in a CA bundle without a word, and a server it signed is then "not
 * trusted" at every connection. A UsageError names the block that cannot be read.
 */
function certificateExpiries(option: string, path: string, pem: Buffer): number[] {
  const text = pem.toString('latin1');
  const blocks = text.match(CERTIFICATE_BLOCK) ?? [];
  const begun = text.split('-----BEGIN CERTIFICATE-----').length - 1;
  const { X509Certificate } = loadCrypto();
  const expiries = blocks.map((block, i) => {
    try {
      return Date.parse(new X509Certificate(block).validTo) / 1000;
    } catch (error) {
      throw new UsageError(`${option} ${path}: certificate ${i + 1} of ${begun} is damaged (OpenSSL: ${openSslReason(error)})`, {
        cause: error,
      });
    }
  });
  if (blocks.length < begun) throw new UsageError(`${option} ${path}: certificate ${blocks.length + 1} of ${begun} has no END line`);
  return expiries;
}

/** The key can be read and is the certificate's: found at the first connection, it was an OpenSSL code and no file. */
function checkKeyPair(cert: { path: string; pem: Buffer }, key: { path: string; pem: Buffer }): void {
  try {
    loadTls().createSecureContext({ cert: cert.pem, key: key.pem });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH') {
      throw new UsageError(`--tls-key ${key.path} is not the key of --tls-cert ${cert.path}: give the key its certificate was made for`);
    }
    // An encrypted key fails as "bad decrypt": there is no passphrase option, and a pod could not type one.
    const encrypted = /ENCRYPTED/.test(key.pem.toString('latin1'))
      ? `: it is encrypted; give it unencrypted (openssl pkey -in ${key.path} -out KEY), readable by this user only`
      : '';
    throw new UsageError(`--tls-key ${key.path}: the private key cannot be read (OpenSSL: ${openSslReason(error)})${encrypted}`, {
      cause: error,
    });
  }
}

function openSslReason(error: unknown): string {
  const e = error as { reason?: string; message?: string };
  return e.reason ?? e.message ?? String(error);
}

export interface TlsFileNames {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

/** The files' bytes, as TLS takes them. */
export interface TlsMaterial {
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
}

const KINDS = ['ca', 'cert', 'key'] as const;
/** The option that names each file, as errors say it. */
type OptionNames = Record<(typeof KINDS)[number], string>;
const OPTION: OptionNames = { ca: '--tls-ca', cert: '--tls-cert', key: '--tls-key' };

/** Reads and checks the files named: a UsageError names the option (`names`) and file of the first that cannot be used. */
export function readTlsFiles(files: TlsFileNames, names: Partial<OptionNames> = {}): TlsMaterial {
  const option = { ...OPTION, ...names };
  const material = readBytes(files, option);
  checkTlsMaterial(files, material, KINDS, option);
  return material;
}

function readBytes(files: TlsFileNames, option = OPTION): TlsMaterial {
  return {
    ca: readPem(option.ca, files.ca, 'certificate'),
    cert: readPem(option.cert, files.cert, 'certificate'),
    key: readPem(option.key, files.key, 'private key'),
  };
}

/**
 * Throws a UsageError naming the file for any certificate or key of `kinds` that TLS could not
 * use; returns when the certificate files among them expire (see fileExpiries).
 */
function checkTlsMaterial(
  files: TlsFileNames,
  m: TlsMaterial,
  kinds: readonly (typeof KINDS)[number][],
  option = OPTION,
): Partial<Record<TlsCertificateFile, number>> {
  const ca = m.ca && kinds.includes('ca') ? certificateExpiries(option.ca, files.ca!, m.ca) : null;
  const cert = m.cert && kinds.includes('cert') ? certificateExpiries(option.cert, files.cert!, m.cert) : null;
  if (m.cert && m.key && (kinds.includes('cert') || kinds.includes('key'))) {
    checkKeyPair({ path: files.cert!, pem: m.cert }, { path: files.key!, pem: m.key });
  }
  return fileExpiries(ca, cert);
}

/**
 * When each file stops being of use: a CA bundle when its last certificate expires (one holding an
 * old CA beside its replacement, as a rotation does, is fine until then), a client certificate
 * when the first of its chain does (the server checks every one).
 */
function fileExpiries(ca: number[] | null, cert: number[] | null): Partial<Record<TlsCertificateFile, number>> {
  return { ...(ca ? { tls_ca: Math.max(...ca) } : {}), ...(cert ? { tls_cert: Math.min(...cert) } : {}) };
}

/**
 * The TLS options of the forward connections, from the files as they are when each connection is
 * made. Files that changed are checked first; any that cannot be used (missing for a moment,
 * half-written by a tool that does not rename, a key not yet the certificate's) leave the last
 * good set in use, said once on stderr, as is each change taken up.
 */
export class TlsFiles {
  private material: TlsMaterial;
  private expiry: Partial<Record<TlsCertificateFile, number>>;
  private problem: string | null = null;

  /** Reads and checks the files: a UsageError names the option and file of the first that cannot be used. */
  constructor(
    private readonly files: TlsFileNames,
    private readonly fixed: Pick<TlsConnectionOptions, 'servername' | 'rejectUnauthorized'>,
    private readonly note: (text: string) => void,
    /** Where a change taken up is said: nothing to attend to, so not under --quiet. */
    private readonly info: (text: string) => void = note,
  ) {
    this.material = readBytes(files);
    this.expiry = checkTlsMaterial(files, this.material, KINDS);
  }

  /**
   * When the files new connections would use expire (see fileExpiries), read at each scrape: a
   * Secret nobody renews shows here weeks before a server refuses it. Reading the files takes up a
   * change as a new connection would.
   */
  expiries(): Partial<Record<TlsCertificateFile, number>> {
    this.reload();
    return this.expiry;
  }

  /** The options for a new connection (bound: the sender calls it as a function). */
  readonly options = (): TlsConnectionOptions => {
    this.reload();
    return { ...this.material, ...this.fixed };
  };

  private reload(): void {
    let changed: (typeof KINDS)[number][];
    let next: TlsMaterial;
    let expiry: Partial<Record<TlsCertificateFile, number>>;
    try {
      next = readBytes(this.files);
      changed = KINDS.filter((k) => !sameBytes(next[k], this.material[k]));
      expiry = checkTlsMaterial(this.files, next, changed);
    } catch (error) {
      const problem = error instanceof UsageError ? error.message : String(error);
      if (problem !== this.problem) this.note(`audit-ship: ${problem}: new connections keep the TLS files as last read\n`);
      this.problem = problem;
      return;
    }
    this.problem = null;
    if (changed.length === 0) return;
    this.material = next;
    // The files' names are fixed, so one that held certificates still does: an unchanged one keeps its expiry.
    this.expiry = { ...this.expiry, ...expiry };
    const named = changed.map((k) => `${OPTION[k]} ${this.files[k]}`).join(', ');
    this.info(`audit-ship: ${named} changed: new connections use ${changed.length > 1 ? 'them' : 'it'}\n`);
  }
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}
