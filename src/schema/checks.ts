/** Small pure predicates used by the validator; each mirrors a constraint of the exported JSON Schema. */
import { ipVersion } from '../ip.js';

const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

export type UuidVerdict = 'v4' | 'other-version' | 'not-uuid';

/** Version 4 UUID: 8-4-4-4-12 hex, version nibble 4, variant nibble 8, 9, a or b; either hex case. */
export function classifyUuid(s: string): UuidVerdict {
  // Only ASCII can be a UUID; below 0x80 the latin1 bytes are the characters themselves.
  // eslint-disable-next-line no-control-regex -- the ASCII range, NUL included, on purpose
  if (s.length !== 36 || /[^\x00-\x7f]/.test(s)) return 'not-uuid';
  return classifyUuidBytes(Buffer.from(s, 'latin1'), 0, 36);
}

const DASH = 0x2d;

function allHex(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (HEX[b[i]!] !== 1) return false;
  return true;
}

/** The same check on bytes, from `start` to `end`: the one implementation. */
export function classifyUuidBytes(b: Uint8Array, start: number, end: number): UuidVerdict {
  if (end - start !== 36) return 'not-uuid';
  if (b[start + 8] !== DASH || b[start + 13] !== DASH || b[start + 18] !== DASH || b[start + 23] !== DASH) return 'not-uuid';
  // The dashes checked, every other byte must be hex: one plain loop per group of digits.
  if (!allHex(b, start, start + 8) || !allHex(b, start + 9, start + 13) || !allHex(b, start + 14, start + 18)) return 'not-uuid';
  if (!allHex(b, start + 19, start + 23) || !allHex(b, start + 24, end)) return 'not-uuid';
  const variant = b[start + 19]! | 0x20; // a hex digit, lower-cased
  const isV4 = b[start + 14] === 0x34 && (variant === 0x38 || variant === 0x39 || variant === 0x61 || variant === 0x62);
  return isV4 ? 'v4' : 'other-version';
}

/** RFC 9110 `token` characters: what an HTTP method may be made of. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

export function isHttpToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] !== 1) return false;
  }
  return true;
}

export const HTTP_TOKEN_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

/** The methods of RFC 9110 and RFC 5789; anything else is legal but unusual for the platform's API. */
export const COMMON_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
]);

/**
 * Whether the bytes from `start` to `end` are an IPv4 address as `isIPv4` reads one: four parts
 * of 0 to 255 without leading zeros, joined by dots. The fast path checks most SourceAddresses
 * this way without making a string; false sends it on to isIpAddress, which has the last word.
 */
export function isIpv4Bytes(b: Uint8Array, start: number, end: number): boolean {
  let parts = 0;
  let i = start;
  for (;;) {
    const first = i;
    let value = 0;
    while (i < end && i - first < 4) {
      const d = b[i]! - 0x30;
      if (d < 0 || d > 9) break;
      value = value * 10 + d;
      i++;
    }
    const digits = i - first;
    if (digits === 0 || digits > 3 || value > 255 || (digits > 1 && b[first] === 0x30)) return false;
    if (++parts === 4) return i === end;
    if (i === end || b[i] !== 0x2e) return false;
    i++;
  }
}

const COLON = 0x3a;

/**
 * Whether the bytes from `start` to `end` are an IPv6 address in its common form: groups of 1 to 4
 * hex digits joined by colons, eight of them, or at most seven with one `::` standing for the
 * rest. Each such address is one `isIPv6` takes; an IPv4 tail (`::ffff:1.2.3.4`) or anything else
 * gets false and goes on to isIpAddress, which has the last word. About a tenth of the platform's
 * SourceAddresses are IPv6, and the string and regular expression cost each of them an eighth of
 * its record's time.
 */
export function isIpv6Bytes(b: Uint8Array, start: number, end: number): boolean {
  let groups = 0;
  let compressed = false;
  let i = start;
  if (end - start >= 2 && b[i] === COLON && b[i + 1] === COLON) {
    compressed = true;
    i += 2;
    if (i === end) return true; // `::` alone
  }
  for (;;) {
    const first = i;
    while (i < end && i - first < 5 && HEX[b[i]!] === 1) i++;
    const digits = i - first;
    if (digits === 0 || digits > 4) return false;
    groups++;
    if (i === end) break;
    if (b[i] !== COLON) return false;
    i++;
    if (i < end && b[i] === COLON) {
      if (compressed) return false;
      compressed = true;
      i++;
      if (i === end) break; // `::` at the end
    } else if (i === end) {
      return false; // one colon at the end
    }
  }
  return compressed ? groups <= 7 : groups === 8;
}

/** An IPv4 (dotted quad, no leading zeros) or IPv6 address, without a zone (`%eth0`) or port. */
export function isIpAddress(s: string): boolean {
  return ipVersion(s) !== 0 && !s.includes('%');
}
