/** Reads the PEM files named by --tls-* options, with errors that name the option and the file. */
import { UsageError } from '../errors.js';
import { readSmallFile } from './small-file.js';

const PEM_LABEL = { certificate: /-----BEGIN CERTIFICATE-----/, 'private key': /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/ };

/** The file's bytes, checked to hold at least one PEM block of the kind the option takes. */
export function readPem(option: string, path: string | undefined, kind: keyof typeof PEM_LABEL): Buffer | undefined {
  if (path === undefined) return undefined;
  const pem = readSmallFile(option, path, `a PEM ${kind}`);
  if (!PEM_LABEL[kind].test(pem.toString('latin1'))) throw new UsageError(`${option} ${path}: holds no PEM ${kind}`);
  return pem;
}
