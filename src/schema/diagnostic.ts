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
  // Shipping only: valid under the schema, but the forward protocol cannot carry it.
  'time-out-of-range': 'error',
  'too-deep': 'error',
  'cut-at-stop': 'error',
} as const satisfies Record<string, Severity>;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

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
