/** One finding about one input line. `field` is a dotted path (`UserInfo.Groups`) or null for the whole line. */
export interface Diagnostic {
  severity: Severity;
  field: string | null;
  code: DiagnosticCode;
  message: string;
}

export type Severity = 'error' | 'warning';

/**
 * Stable diagnostic codes. Scripts match on these, so a code is never renamed;
 * new findings get new codes. docs/lint.md lists each with its meaning (a test compares them).
 */
export const DIAGNOSTIC_CODES = {
  // Whole-line problems, found before any field is looked at.
  'line-too-long': 'error',
  'invalid-utf8': 'error',
  'not-json': 'error',
  'not-object': 'error',
  'not-audit-record': 'error',
  'nul-padding': 'warning',
  // Field problems.
  'missing-field': 'error',
  'unknown-field': 'error',
  'wrong-type': 'error',
  'empty-value': 'error',
  'invalid-uuid': 'error',
  'uuid-not-v4': 'error',
  'invalid-timestamp': 'error',
  'impossible-date-time': 'error',
  'non-utc-timestamp': 'warning',
  'invalid-method': 'error',
  'unusual-method': 'warning',
  'status-out-of-range': 'error',
  'not-integer': 'error',
  'negative-size': 'error',
  'size-mismatch': 'warning',
  'invalid-ip': 'error',
  'forbidden-key': 'error',
  'duplicate-key': 'warning',
  // Shipping only: valid under the schema, but the forward protocol cannot carry it.
  'time-out-of-range': 'error',
  'too-deep': 'error',
  'cut-at-stop': 'error',
  // Lint only: about an input, not a line of it.
  'input-unreadable': 'error',
  // Lint only: valid under the schema, but `ship` refuses it (one of the shipping-only codes above).
  'ship-rejects': 'warning',
} as const satisfies Record<string, Severity>;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

/** What each code means, for people: docs/lint.md's table says the same (a test compares them), and SARIF rules carry it. */
export const DIAGNOSTIC_HELP: Record<DiagnosticCode, string> = {
  'line-too-long': 'the line is longer than `--max-line-bytes`',
  'invalid-utf8': 'the line is not valid UTF-8',
  'not-json': 'the line is not valid JSON',
  'not-object': 'the line is JSON but not an object',
  'not-audit-record': 'a JSON object that does not look like an audit record (without `--mixed`)',
  'nul-padding':
    'a run of NUL bytes was dropped: zero padding, as a crash can leave in a file that was being appended to (what it replaced is gone); the text on each side of it is checked as a line of its own',
  'missing-field': 'a required field is absent',
  'unknown-field': 'a field the schema does not name (`--strict` only)',
  'wrong-type': 'the field has the wrong JSON type',
  'empty-value': '`Host` or `URI` is `""`',
  'invalid-uuid': '`RequestID` is not a UUID',
  'uuid-not-v4': '`RequestID` is a UUID of another version or variant',
  'invalid-timestamp': '`Timestamp` is not RFC 3339 with 0 to 9 fractional digits',
  'impossible-date-time': '`Timestamp` has the right shape but no such date or time exists',
  'non-utc-timestamp': '`Timestamp` has an offset other than UTC',
  'invalid-method': '`Method` is empty or not an HTTP token',
  'unusual-method': '`Method` is not one of the standard methods',
  'status-out-of-range': '`ResponseStatus` is outside 100\u2013599',
  'not-integer': '`ResponseStatus` or `ResponseSize` has a fraction',
  'negative-size': '`ResponseSize` is below 0',
  'size-mismatch': "`ResponseSize` differs from the body's UTF-8 byte length",
  'invalid-ip': '`SourceAddress` is not an IPv4 or IPv6 address',
  'forbidden-key':
    'a key named `__proto__`, at any depth, however it is spelt (`"\\u005f_proto__"` too): JavaScript consumers would take it for the object prototype, and msgpack decoders refuse it',
  'duplicate-key':
    'a key appears more than once in one object, at any depth, however it is spelt: JSON.parse, Fluentd and most readers keep its last value, so only that one is checked and shipped, and the earlier ones are gone',
  'time-out-of-range':
    '`ship` only: `Timestamp` is outside what a Fluentd EventTime holds (1970 to 2106), and is the event time (`--time-source record`, the default)',
  'too-deep': '`ship` only: an unknown field nests deeper than 100 levels',
  'cut-at-stop':
    '`ship` only: the last line read from stdin or kubectl when a signal stopped the run; the rest of it was never read (its start is kept by `--dead-letter`)',
  'input-unreadable':
    '`lint` only: the input could not be read past this line (a truncated or corrupt gzip, a read error, a gzip that holds no text); the lines before it were checked, and the run exits 2',
  'ship-rejects':
    '`lint` only: valid under the schema, but `ship` rejects the line: its `Timestamp` is outside what a Fluentd EventTime holds (`time-out-of-range`; `--time-source now` ships it), or it nests deeper than 100 levels (`too-deep`)',
};

/** The field path of `key` in the object at `parent` (null: the record itself): `UserInfo.Groups`. */
export function keyPath(parent: string | null, key: string): string {
  return parent === null ? key : `${parent}.${key}`;
}

/** The field path of item `index` of the array at `parent`: `UserInfo.Groups[1]`. */
export function itemPath(parent: string | null, index: number): string {
  return `${parent ?? ''}[${index}]`;
}

export function diagnostic(code: DiagnosticCode, field: string | null, message: string): Diagnostic {
  return { severity: DIAGNOSTIC_CODES[code], field, code, message };
}

export function hasError(diagnostics: readonly Diagnostic[]): boolean {
  for (const d of diagnostics) if (d.severity === 'error') return true;
  return false;
}

/** Describes a JSON value's type the way a user reads it in a message: `null`, `array`, `number 1.5`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return `string ${quote(value)}`;
    case 'number':
    case 'boolean':
      return `${typeof value} ${String(value)}`;
    default:
      return typeof value;
  }
}

const QUOTE_LIMIT = 60;

/** JSON-quotes a value for a message, cut so that a huge field cannot flood the output. */
export function quote(value: string): string {
  const cut = value.length > QUOTE_LIMIT ? `${value.slice(0, QUOTE_LIMIT)}…` : value;
  return JSON.stringify(cut);
}
