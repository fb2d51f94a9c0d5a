/** Small pure predicates used by the validator; each mirrors a constraint of the exported JSON Schema. */
import { isIPv4, isIPv6 } from 'node:net';

const HEX = new Uint8Array(128);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

function isHexAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c < 128 && HEX[c] === 1;
}

export type UuidVerdict = 'v4' | 'other-version' | 'not-uuid';

/** Version 4 UUID: 8-4-4-4-12 hex, version nibble 4, variant nibble 8, 9, a or b; either hex case. */
export function classifyUuid(s: string): UuidVerdict {
  if (s.length !== 36) return 'not-uuid';
  for (let i = 0; i < 36; i++) {
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (s.charCodeAt(i) !== 45) return 'not-uuid';
    } else if (!isHexAt(s, i)) {
      return 'not-uuid';
    }
  }
  const variant = s[19]!.toLowerCase();
  const isV4 = s[14] === '4' && (variant === '8' || variant === '9' || variant === 'a' || variant === 'b');
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
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH',
]);

/** An IPv4 (dotted quad, no leading zeros) or IPv6 address, without a zone (`%eth0`) or port. */
export function isIpAddress(s: string): boolean {
  return isIPv4(s) || (isIPv6(s) && !s.includes('%'));
}
