/**
 * JSON string escapes decoded straight to UTF-8, for the scanner's string copy: the one-byte
 * escapes by table, `\uXXXX` (and a surrogate pair) by arithmetic. Apart from the scanner because
 * escapes are rare in audit records and this code never runs in the copy's inner loop.
 */
const BACKSLASH = 0x5c;
const LOWER_U = 0x75;

/** What the byte after a backslash stands for; 0 where the escape is not a single byte. */
export const SIMPLE_ESCAPE = new Uint8Array(128);
for (const [c, v] of [
  ['"', 0x22],
  ['\\', 0x5c],
  ['/', 0x2f],
  ['b', 0x08],
  ['f', 0x0c],
  ['n', 0x0a],
  ['r', 0x0d],
  ['t', 0x09],
] as const) {
  SIMPLE_ESCAPE[c.charCodeAt(0)] = v;
}

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/**
 * `\uXXXX` at `src[i]` (and its low surrogate) as UTF-8 at `buf[o]`, reading no further than `end`;
 * the bytes written, or -1 to decline (bad hex, a lone surrogate: the full parser's to judge).
 */
export function unicodeEscape(src: Buffer, end: number, i: number, buf: Buffer, o: number): number {
  const unit = hex4(src, end, i + 2);
  if (unit < 0) return -1;
  if (unit < 0x80) {
    buf[o] = unit;
    return 1;
  }
  if (unit < 0x800) {
    buf[o] = 0xc0 | (unit >> 6);
    buf[o + 1] = 0x80 | (unit & 0x3f);
    return 2;
  }
  if (unit < 0xd800 || unit > 0xdfff) {
    buf[o] = 0xe0 | (unit >> 12);
    buf[o + 1] = 0x80 | ((unit >> 6) & 0x3f);
    buf[o + 2] = 0x80 | (unit & 0x3f);
    return 3;
  }
  // A surrogate pair; a lone surrogate is left to the full parser, which writes U+FFFD for it.
  if (unit > 0xdbff || src[i + 6] !== BACKSLASH || src[i + 7] !== LOWER_U) return -1;
  const low = hex4(src, end, i + 8);
  if (low < 0xdc00 || low > 0xdfff) return -1;
  const cp = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
  buf[o] = 0xf0 | (cp >> 18);
  buf[o + 1] = 0x80 | ((cp >> 12) & 0x3f);
  buf[o + 2] = 0x80 | ((cp >> 6) & 0x3f);
  buf[o + 3] = 0x80 | (cp & 0x3f);
  return 4;
}

/** Four hex digits at `i` as a number; -1 when they are not, or run past `end`. */
function hex4(src: Buffer, end: number, i: number): number {
  if (i + 4 > end) return -1;
  let n = 0;
  for (let k = i; k < i + 4; k++) {
    const c = src[k]!;
    const v = c < 0x80 ? HEX_VALUE[c]! : -1;
    if (v < 0) return -1;
    n = (n << 4) | v;
  }
  return n;
}
