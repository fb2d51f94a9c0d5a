/**
 * The audit record schema, from the platform's audit logging architecture page.
 * The validator and the JSON Schema export are both driven by this table, so they cannot drift apart.
 */

export type FieldKind =
  'uuid' | 'timestamp' | 'method' | 'status' | 'size' | 'ip' | 'non-empty-string' | 'string' | 'string-array-or-null' | 'user-info';

export interface FieldSpec {
  name: string;
  kind: FieldKind;
  description: string;
}

export const RECORD_FIELDS: readonly FieldSpec[] = [
  { name: 'Host', kind: 'non-empty-string', description: 'The host which serves this request.' },
  { name: 'Method', kind: 'method', description: 'The HTTP method (GET, POST, PUT, etc.).' },
  { name: 'Referer', kind: 'string', description: 'The referring URL, if sent in the request.' },
  { name: 'RequestID', kind: 'uuid', description: 'A randomly generated version 4 UUID.' },
  { name: 'ResponseBody', kind: 'string', description: 'The response body that the server returns for this request.' },
  { name: 'ResponseSize', kind: 'size', description: 'The size of the response body in bytes.' },
  { name: 'ResponseStatus', kind: 'status', description: 'The HTTP response status code.' },
  { name: 'SourceAddress', kind: 'ip', description: 'The IP of the sender of the request.' },
  { name: 'Timestamp', kind: 'timestamp', description: 'UTC timestamp of the request (RFC 3339, 0 to 9 fractional digits).' },
  { name: 'URI', kind: 'non-empty-string', description: 'The endpoint called in the request.' },
  { name: 'UserAgent', kind: 'string', description: 'The user agent of the caller.' },
  { name: 'UserInfo', kind: 'user-info', description: 'The authentication information of the caller.' },
];

export const USER_INFO_FIELDS: readonly FieldSpec[] = [
  { name: 'Id', kind: 'string', description: 'The ID of the caller.' },
  { name: 'Name', kind: 'string', description: 'The Name of the caller.' },
  { name: 'Email', kind: 'string', description: 'The Email of the caller.' },
  {
    name: 'Groups',
    kind: 'string-array-or-null',
    description: 'The Groups that the caller belongs to; null when the platform has none (a Go nil slice).',
  },
];

export const RECORD_FIELD_NAMES: ReadonlySet<string> = new Set(RECORD_FIELDS.map((f) => f.name));
export const USER_INFO_FIELD_NAMES: ReadonlySet<string> = new Set(USER_INFO_FIELDS.map((f) => f.name));

/**
 * How many of the record's field names a JSON object must carry to be taken for an audit record
 * when it has no `RequestID`. Application log lines (`level`, `msg`, `ts`…) share none of them.
 */
export const AUDIT_LIKE_MIN_FIELDS = 3;

/**
 * An object "looks like an audit record" when it has a `RequestID` key or at least three of the
 * twelve top-level field names. Such an object is always validated, even with `--mixed`,
 * so that a damaged audit record is reported instead of being skipped as an application log.
 */
export function looksLikeAuditRecord(obj: object): boolean {
  if (Object.hasOwn(obj, 'RequestID')) return true;
  let found = 0;
  for (const f of RECORD_FIELDS) {
    if (Object.hasOwn(obj, f.name) && ++found >= AUDIT_LIKE_MIN_FIELDS) return true;
  }
  return false;
}

/** The same test on raw text, for a line that is not valid JSON (a truncated audit record, say). */
export function textLooksLikeAuditRecord(text: string): boolean {
  if (text.includes('"RequestID"')) return true;
  let found = 0;
  for (const f of RECORD_FIELDS) {
    if (text.includes(`"${f.name}"`) && ++found >= AUDIT_LIKE_MIN_FIELDS) return true;
  }
  return false;
}
