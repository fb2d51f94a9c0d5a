/** Reads the PEM files named by --tls-* options, with errors that name the option and the file. */
import { UsageError, describeSystemError } from '../errors.js';
import { MAX_SMALL_FILE_BYTES, readAtMost } from './small-file.js';

const PEM_LABEL = { certificate: /-----BEGIN CERTIFICATE-----/, 'private key': /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/ };

export const MAX_PEM_BYTES = MAX_SMALL_FILE_BYTES;

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
