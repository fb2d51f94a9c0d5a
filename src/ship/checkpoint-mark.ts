/**
 * How a checkpoint knows a file again: its device and inode, and the digest of its first bytes,
 * which a file keeps when it is renamed, copied (logrotate's copytruncate) or compressed.
 */
import { createHash } from '../crypto.js';
import type { FileIdentity } from '../input/sources.js';
import type { FileNow, FileProgress } from './checkpoint.js';
import { FINGERPRINT_BYTES } from './checkpoint-index.js';

/** The digest of a file's first `bytes`, as entries keep it. */
export const fingerprint = (head: Buffer, bytes: number): string => createHash('sha256').update(head.subarray(0, bytes)).digest('hex');

/**
 * What an entry keeps of the file it stands for: device, inode, and the digest of its first bytes.
 * Made once, when the file's turn comes, so that the run holds this rather than the file's first
 * 4 KiB until its last position is recorded: with small files, a chunk's worth of files (thousands)
 * waits for the chunk to be spooled.
 */
export interface FileMark {
  dev: number;
  ino: number;
  fingerprint: string;
  fingerprintBytes: number;
}

export function markOf({ dev, ino, head }: FileIdentity): FileMark {
  const bytes = Math.min(head.length, FINGERPRINT_BYTES);
  return { dev, ino, fingerprint: fingerprint(head, bytes), fingerprintBytes: bytes };
}

/** Whether the file now is the one a position was taken of: its first bytes match (where there were any). */
export function sameContent(progress: FileProgress, now: FileNow): boolean {
  if (progress.fingerprint === undefined || now.identity === undefined) return true; // an older checkpoint: by size only
  const bytes = progress.fingerprintBytes ?? 0;
  return now.identity.head.length >= bytes && fingerprint(now.identity.head, bytes) === progress.fingerprint;
}

/** Whether `head` is a full fingerprint's worth of text with a line in it: enough to know a file by alone. */
export const knowable = (head: Buffer | null): head is Buffer =>
  head !== null && head.length >= FINGERPRINT_BYTES && head.subarray(0, FINGERPRINT_BYTES).includes(0x0a);
