/** Reads the PEM files named by --tls-* options, with errors that name the option and the file. */
import { readFileSync } from 'node:fs';
import { UsageError, describeSystemError } from '../errors.js';

export function readPem(option: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`${option} ${path}: ${describeSystemError(error)}`, { cause: error });
  }
}
