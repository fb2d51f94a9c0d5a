/**
 * Validates one parsed audit record. Pure and allocation-light: it sits on the hot path of every
 * backfill, so a valid record costs no diagnostic array and the timestamp is parsed only once,
 * yielding the event time that the shipper sends.
 */
import { classifyUuid, COMMON_METHODS, isHttpToken, isIpAddress } from './checks.js';
import { describeValue, diagnostic, quote, type Diagnostic } from './diagnostic.js';
import { RECORD_FIELDS, RECORD_FIELD_NAMES, USER_INFO_FIELDS, USER_INFO_FIELD_NAMES, type FieldSpec } from './fields.js';
import { parseTimestamp } from './timestamp.js';
import { isPlainObject } from '../plain-object.js';

export interface ValidateOptions {
  /** Unknown fields are an error (default: allowed, for forward compatibility). */
  strict: boolean;
}

export interface Validation {
  diagnostics: Diagnostic[];
  /** The record's Timestamp as epoch seconds, when it parsed. */
  seconds: number;
  nanoseconds: number;
  timeOk: boolean;
}

type Sink = Diagnostic[];

function wrongType(out: Sink, path: string, expected: string, value: unknown): void {
  out.push(diagnostic('wrong-type', path, `expected ${expected}, found ${describeValue(value)}`));
}

function checkString(out: Sink, path: string, value: unknown, nonEmpty: boolean): value is string {
  if (typeof value !== 'string') {
    wrongType(out, path, nonEmpty ? 'non-empty string' : 'string', value);
    return false;
  }
  if (nonEmpty && value.length === 0) {
    out.push(diagnostic('empty-value', path, 'expected non-empty string, found ""'));
    return false;
  }
  return true;
}

function checkInteger(out: Sink, path: string, value: unknown): value is number {
  if (typeof value !== 'number') {
    wrongType(out, path, 'integer', value);
    return false;
  }
  if (!Number.isInteger(value)) {
    out.push(diagnostic('not-integer', path, `expected integer, found number ${value}`));
    return false;
  }
  return true;
}

function checkUuid(out: Sink, path: string, value: string): void {
  const verdict = classifyUuid(value);
  if (verdict === 'not-uuid') {
    out.push(diagnostic('invalid-uuid', path, `expected version 4 UUID, found ${quote(value)}`));
  } else if (verdict === 'other-version') {
    out.push(
      diagnostic(
        'uuid-not-v4',
        path,
        `expected version 4 UUID (version nibble 4, variant 8/9/a/b), found version ${value[14]} variant ${value[19]}`,
      ),
    );
  }
}

function checkMethod(out: Sink, path: string, value: string): void {
  if (!isHttpToken(value)) {
    out.push(diagnostic('invalid-method', path, `expected HTTP method token, found ${quote(value)}`));
  } else if (!COMMON_METHODS.has(value)) {
    out.push(diagnostic('unusual-method', path, `unusual HTTP method ${quote(value)}`));
  }
}

function checkGroups(out: Sink, path: string, value: unknown): void {
  if (value === null) return;
  if (!Array.isArray(value)) {
    wrongType(out, path, 'array of strings or null', value);
    return;
  }
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== 'string') wrongType(out, `${path}[${i}]`, 'string', value[i]);
  }
}

function checkUnknown(out: Sink, obj: object, known: ReadonlySet<string>, prefix: string): void {
  for (const key of Object.keys(obj)) {
    if (!known.has(key)) out.push(diagnostic('unknown-field', prefix + key, `unknown field ${quote(key)} (--strict)`));
  }
}

function checkUserInfo(out: Sink, value: unknown, options: ValidateOptions): void {
  if (!isPlainObject(value)) {
    wrongType(out, 'UserInfo', 'object', value);
    return;
  }
  checkFields(out, value, USER_INFO_FIELDS, 'UserInfo.', undefined, options);
  if (options.strict) checkUnknown(out, value, USER_INFO_FIELD_NAMES, 'UserInfo.');
}

function checkFields(
  out: Sink,
  obj: Record<string, unknown>,
  fields: readonly FieldSpec[],
  prefix: string,
  result: Validation | undefined,
  options: ValidateOptions,
): void {
  for (const field of fields) {
    const path = prefix + field.name;
    const value = Object.hasOwn(obj, field.name) ? obj[field.name] : undefined;
    if (value === undefined) {
      out.push(diagnostic('missing-field', path, `missing required field ${field.name}`));
      continue;
    }
    switch (field.kind) {
      case 'string':
        checkString(out, path, value, false);
        break;
      case 'non-empty-string':
        checkString(out, path, value, true);
        break;
      case 'uuid':
        if (checkString(out, path, value, false)) checkUuid(out, path, value);
        break;
      case 'method':
        if (checkString(out, path, value, false)) checkMethod(out, path, value);
        break;
      case 'ip':
        if (checkString(out, path, value, false) && !isIpAddress(value)) {
          out.push(diagnostic('invalid-ip', path, `expected IPv4 or IPv6 address, found ${quote(value)}`));
        }
        break;
      case 'status':
        if (checkInteger(out, path, value) && (value < 100 || value > 599)) {
          out.push(diagnostic('status-out-of-range', path, `expected HTTP status 100-599, found ${value}`));
        }
        break;
      case 'size':
        if (checkInteger(out, path, value) && value < 0) {
          out.push(diagnostic('negative-size', path, `expected integer >= 0, found ${value}`));
        }
        break;
      case 'timestamp':
        if (checkString(out, path, value, false)) checkTimestamp(out, path, value, result);
        break;
      case 'string-array-or-null':
        checkGroups(out, path, value);
        break;
      case 'user-info':
        checkUserInfo(out, value, options);
        break;
    }
  }
}

function checkTimestamp(out: Sink, path: string, value: string, result: Validation | undefined): void {
  const parsed = parseTimestamp(value);
  if (!parsed.ok) {
    const code = parsed.reason === 'syntax' ? 'invalid-timestamp' : 'impossible-date-time';
    out.push(diagnostic(code, path, `${parsed.detail}, found ${quote(value)}`));
    return;
  }
  if (!parsed.utc) out.push(diagnostic('non-utc-timestamp', path, `expected UTC (Z), found offset in ${quote(value)}`));
  if (result) {
    result.seconds = parsed.seconds;
    result.nanoseconds = parsed.nanoseconds;
    result.timeOk = true;
  }
}

function checkSizeAgreement(out: Sink, record: Record<string, unknown>): void {
  const body = record.ResponseBody;
  const size = record.ResponseSize;
  if (typeof body !== 'string' || typeof size !== 'number' || !Number.isInteger(size) || size < 0) return;
  const actual = Buffer.byteLength(body, 'utf8');
  if (actual !== size) {
    out.push(
      diagnostic('size-mismatch', 'ResponseSize', `ResponseSize ${size} differs from the UTF-8 byte length of ResponseBody (${actual})`),
    );
  }
}

/** Validates a parsed JSON object as an audit record. */
export function validateRecord(record: Record<string, unknown>, options: ValidateOptions): Validation {
  const result: Validation = { diagnostics: [], seconds: 0, nanoseconds: 0, timeOk: false };
  const out = result.diagnostics;
  checkFields(out, record, RECORD_FIELDS, '', result, options);
  checkSizeAgreement(out, record);
  if (options.strict) checkUnknown(out, record, RECORD_FIELD_NAMES, '');
  return result;
}
