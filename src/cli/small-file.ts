/**
 * Reading a file an option names that holds settings (PEM files, a users file): bounded, because a
 * device such as /dev/zero named by mistake was read for ever.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { UsageError, describeSystemError } from '../errors.js';

/** Far more than any such file holds (the system's CA bundle is about 200 KB). */
const MAX_SMALL_FILE_BYTES = 8 * 1024 * 1024;

/**
 * The bytes of the file `option` names, which should hold `what` ("a users file"): a file that
 * cannot be read, or holds over MAX_SMALL_FILE_BYTES, is a usage error naming the option and file.
 */
export function readSmallFile(option: string, path: string, what: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readAtMost(path, MAX_SMALL_FILE_BYTES + 1);
  } catch (error) {
    throw new UsageError(`${option} ${path}: ${describeSystemError(error)}`, { cause: error });
  }
  if (bytes.length > MAX_SMALL_FILE_BYTES) throw new UsageError(`${option} ${path}: holds over 8 MiB, far more than ${what}`);
  return bytes;
}

/** Up to `limit` bytes of the file (a pipe, `<(…)`, reads to its end as well). */
export function readAtMost(path: string, limit: number): Buffer {
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
