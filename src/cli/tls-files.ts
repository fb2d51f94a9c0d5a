/** Reads the PEM files named by --tls-* options, with errors that name the option and the file. */
import { closeSync, openSync, readSync } from 'node:fs';
import { UsageError, describeSystemError } from '../errors.js';

const PEM_LABEL = { certificate: /-----BEGIN CERTIFICATE-----/, 'private key': /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/ };

/** Far more than any CA bundle (the system's is ~200 KB): a device like /dev/zero was read for ever. */
export const MAX_PEM_BYTES = 8 * 1024 * 1024;

/** The file's bytes, checked to hold at least one PEM block of the kind the option takes. */
export function readPem(option: string, path: string | undefined, kind: keyof typeof PEM_LABEL): Buffer | undefined {
  if (path === undefined) return undefined;
  let pem: Buffer;
  try {
    pem = readAtMost(path, MAX_PEM_BYTES + 1);
  } catch (error) {
    throw new UsageError(`${option} ${path}: ${describeSystemError(error)}`, { cause: error });
  }
  if (pem.length > MAX_PEM_BYTES) throw new UsageError(`${option} ${path}: holds over 8 MiB, far more than a PEM ${kind}`);
  if (!PEM_LABEL[kind].test(pem.toString('latin1'))) throw new UsageError(`${option} ${path}: holds no PEM ${kind}`);
  return pem;
}

/** Up to `limit` bytes of the file (a pipe, `<(…)`, reads to its end as well). */
function readAtMost(path: string, limit: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const pieces: Buffer[] = [];
    let length = 0;
    while (length < limit) {
      const piece = Buffer.alloc(Math.min(64 * 1024, limit - length));
      const n = readSync(fd, piece, 0, piece.length, null);
      if (n === 0) break;
      pieces.push(piece.subarray(0, n));
      length += n;
    }
    return Buffer.concat(pieces, length);
  } finally {
    closeSync(fd);
  }
}
