/**
 * Every use of randomness and hashing, in one place, so that a run which needs only random bytes
 * (a chunk id per chunk, a spool lock token, a connection's salt) never loads node:crypto. Loading
 * it starts OpenSSL: about 1 MB of resident memory and 10 ms of CPU at every start, for 16 bytes at
 * a time. The bytes come from the kernel's generator, /dev/urandom, which is what seeds OpenSSL's;
 * where there is none, node:crypto serves them. Hashes (the shared-key handshake, a checkpoint's
 * file fingerprint, a lint report's) load node:crypto at their first use.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';

type NodeCrypto = typeof import('node:crypto');

const require = createRequire(import.meta.url);
let nodeCrypto: NodeCrypto | null = null;

/** node:crypto, loaded at the first call. */
function loadCrypto(): NodeCrypto {
  return (nodeCrypto ??= require('node:crypto') as NodeCrypto);
}

/** Bytes read from the kernel at once: one read serves 256 chunk ids. */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let used = POOL_BYTES;
let urandom = true;

/** Fills the pool from /dev/urandom; false where it cannot be read, or ends (and from then on). */
function refill(): boolean {
  if (!urandom) return false;
  try {
    const fd = openSync('/dev/urandom', 'r');
    try {
      let filled = 0;
      while (filled < POOL_BYTES) {
        const n = readSync(fd, pool, filled, POOL_BYTES - filled, null);
        // The kernel's generator never ends: an end means something else stands at that path.
        if (n === 0) throw new Error('/dev/urandom ended');
        filled += n;
      }
    } finally {
      closeSync(fd);
    }
  } catch {
    urandom = false;
    return false;
  }
  used = 0;
  return true;
}

/** `size` cryptographically strong random bytes, each handed out once. */
export function randomBytes(size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let filled = 0;
  while (filled < size) {
    if (used === POOL_BYTES && !refill()) {
      loadCrypto().randomFillSync(out, filled);
      break;
    }
    const n = Math.min(size - filled, POOL_BYTES - used);
    pool.copy(out, filled, used, used + n);
    used += n;
    filled += n;
  }
  return out;
}

/** A random (version 4) UUID, as crypto.randomUUID() writes it. */
export function randomUUID(): string {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A node:crypto hash of `algorithm` (sha256, sha512). */
export function createHash(algorithm: string): import('node:crypto').Hash {
  return loadCrypto().createHash(algorithm);
}
