/**
 * Reading a file an option names that holds settings (PEM files, a users file): bounded, because a
 * device such as /dev/zero named by mistake was read for ever.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** Far more than any such file holds (the system's CA bundle is about 200 KB). */
export const MAX_SMALL_FILE_BYTES = 8 * 1024 * 1024;

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
