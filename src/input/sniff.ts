/**
 * What an input holds, told by its first bytes, never by its name: gzip is decompressed, text is
 * read as lines, and anything clearly not text lines (another compression format, UTF-16, binary
 * data) stops the run with a hint instead of producing thousands of "invalid" lines.
 */

import { PADDING_RUN } from './nul-padding.js';

export const GZIP_MAGIC = [0x1f, 0x8b] as const;
/** Enough to tell every format below, and to judge whether the start of the input is text. */
export const SNIFF_BYTES = 4096;

/** The hint for an input that holds no text lines of any known kind. */
const GIVE_TEXT = 'give audit-ship the JSON audit log lines (plain or gzip)';

/**
 * `zeros`: nothing but NULs, as a crash can leave at the start of a file it zeroed (its first blocks
 * cut); the input is judged by its first bytes after them (decode.ts, textOnly).
 */
export type Sniffed = { kind: 'gzip' } | { kind: 'text' } | { kind: 'zeros' } | { kind: 'not-text'; what: string; hint: string };

const FORMATS: { magic: number[]; what: string; hint: string }[] = [
  { magic: [0x28, 0xb5, 0x2f, 0xfd], what: 'zstd-compressed data', hint: 'decompress it first: zstd -dc FILE | audit-ship -' },
  { magic: [0x42, 0x5a, 0x68], what: 'bzip2-compressed data', hint: 'decompress it first: bzip2 -dc FILE | audit-ship -' },
  { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], what: 'xz-compressed data', hint: 'decompress it first: xz -dc FILE | audit-ship -' },
  { magic: [0x04, 0x22, 0x4d, 0x18], what: 'lz4-compressed data', hint: 'decompress it first: lz4 -dc FILE | audit-ship -' },
  {
    magic: [0x50, 0x4b, 0x03, 0x04],
    what: 'a zip archive',
    hint: 'extract the log files and give them as inputs: unzip -p FILE | audit-ship -',
  },
  { magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], what: 'a 7z archive', hint: 'extract the log files first' },
  { magic: [0xff, 0xfe], what: 'UTF-16 text', hint: 'audit lines are UTF-8: iconv -f UTF-16 -t UTF-8 FILE | audit-ship -' },
  { magic: [0xfe, 0xff], what: 'UTF-16 text', hint: 'audit lines are UTF-8: iconv -f UTF-16 -t UTF-8 FILE | audit-ship -' },
];

function startsWith(head: Uint8Array, magic: readonly number[]): boolean {
  if (head.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (head[i] !== magic[i]) return false;
  return true;
}

/**
 * Whether the bytes are clearly not text: a NUL outside a run of zero padding (src/input/nul-padding.ts),
 * or mostly control characters (tab, CR, LF, FF and ESC aside). Bytes that are all NULs are not
 * judged here (see `zeros`).
 */
function looksBinary(head: Uint8Array): boolean {
  let control = 0;
  let judged = 0;
  for (let i = 0; i < head.length; i++) {
    const b = head[i]!;
    if (b === 0) {
      let end = i + 1;
      while (end < head.length && head[end] === 0) end++;
      // A run that reaches the end of the head may go on past it.
      if (end - i < PADDING_RUN && end < head.length) return true;
      i = end - 1;
      continue;
    }
    judged++;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b) control++;
  }
  return control * 10 > judged;
}

/** Judges the first bytes of a raw input (up to SNIFF_BYTES; fewer only when the input is shorter). */
export function sniff(head: Uint8Array): Sniffed {
  if (startsWith(head, GZIP_MAGIC)) return { kind: 'gzip' };
  return sniffText(head);
}

/** Judges the first bytes of decoded input: after gunzip, only text lines may follow. */
export function sniffText(head: Uint8Array): Sniffed {
  for (const f of FORMATS) if (startsWith(head, f.magic)) return { kind: 'not-text', what: f.what, hint: f.hint };
  if (head.length > 0 && pastNuls(head) === -1) return { kind: 'zeros' };
  if (looksBinary(head)) return { kind: 'not-text', what: 'binary data, not text lines', hint: GIVE_TEXT };
  return { kind: 'text' };
}

/** The position of the first byte that is not NUL, or -1 when there is none. */
export function pastNuls(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return i;
  return -1;
}

/**
 * A device (/dev/zero) whose first bytes are NULs: it gives them for ever, where a file a crash
 * zeroed ends, and a pipe can be stopped.
 */
export const DEVICE_ZEROS: Sniffed = {
  kind: 'not-text',
  what: 'nothing but NUL bytes (a device, not a log)',
  hint: GIVE_TEXT,
};
