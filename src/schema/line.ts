/**
 * Classifies one input line: blank, not an audit record (skipped with --mixed), or an audit record
 * with its diagnostics. Shared by `lint` and the shipper so that both judge a line the same way.
 */
import { isUtf8 } from 'node:buffer';
import { kubectlPayloadOffset } from '../input/kubectl-prefix.js';
import type { Line } from '../input/lines.js';
import { splitAtPadding } from '../input/nul-padding.js';
import { diagnostic, hasError, itemPath, keyPath, type Diagnostic } from './diagnostic.js';
import { duplicateKeys, MAX_WALK_DEPTH } from './duplicate-keys.js';
import { looksLikeAuditRecord, textLooksLikeAuditRecord } from './fields.js';
import { validateRecord } from './validator.js';
import { isPlainObject } from '../plain-object.js';

export interface ClassifyOptions {
  /** Lines that are not audit records are counted and skipped instead of being errors. */
  mixed: boolean;
  /** Unknown fields are errors. */
  strict: boolean;
}

export type LineVerdict = { kind: 'blank' } | { kind: 'skipped' } | { kind: 'rejected'; diagnostics: Diagnostic[] } | AuditRecordVerdict;

export interface AuditRecordVerdict {
  kind: 'record';
  record: Record<string, unknown>;
  /** The JSON text of the record, without any kubectl prefix. */
  json: string;
  diagnostics: Diagnostic[];
  valid: boolean;
  seconds: number;
  nanoseconds: number;
}

const BLANK: LineVerdict = { kind: 'blank' };
const SKIPPED: LineVerdict = { kind: 'skipped' };

function isBlank(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b !== 0x20 && b !== 0x09) return false;
  }
  return true;
}

function isAuditLike(value: unknown): boolean {
  return isPlainObject(value) && looksLikeAuditRecord(value);
}

function rejected(d: Diagnostic): LineVerdict {
  return { kind: 'rejected', diagnostics: [d] };
}

function notJsonMessage(error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  return `not valid JSON: ${reason.length > 120 ? `${reason.slice(0, 120)}…` : reason}`;
}

/**
 * Whether a line holds no whole JSON value yet, as a line its writer has not finished does: one
 * that holds one, valid record or not, stays as it is whatever follows. Blank is not cut short;
 * of a line with zero padding, its last part is judged (src/input/nul-padding.ts).
 */
export function cutShort(line: Line): boolean {
  const parts = splitAtPadding(line)?.parts;
  const last = parts ? parts.at(-1)?.bytes : line.bytes;
  if (last === undefined || isBlank(last)) return false;
  try {
    JSON.parse(last.toString('utf8', kubectlPayloadOffset(last)));
    return false;
  } catch {
    return true;
  }
}

/** `line` is one line without its end-of-line bytes; `overLimit` is its length when it was cut. */
export function classifyLine(line: Buffer, options: ClassifyOptions): LineVerdict {
  if (isBlank(line)) return BLANK;
  const payload = line.subarray(kubectlPayloadOffset(line));
  const text = payload.toString('utf8');
  // Invalid UTF-8 always decodes to U+FFFD, so the full byte check runs only when one is present.
  if (text.includes('\uFFFD') && !isUtf8(payload)) {
    return rejected(diagnostic('invalid-utf8', null, 'line is not valid UTF-8'));
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (options.mixed && !(payload[0] === 0x7b && textLooksLikeAuditRecord(text))) return SKIPPED;
    // The first line of a pretty-printed record (`jq .`, an API response saved): one hint there,
    // not one on each of the lines after it.
    const start = text.trim();
    const spread =
      start === '{'
        ? '; a record spread over lines (pretty-printed JSON?): audit-ship reads one record a line, as `jq -c .` writes them'
        : start === '['
          ? "; an array spread over lines (pretty-printed JSON?): audit-ship reads one record a line, as `jq -c '.[]'` writes them"
          : '';
    return rejected(diagnostic('not-json', null, `${notJsonMessage(error)}${spread}`));
  }
  // An array of records on one line (an API response saved): reported even with --mixed, as a
  // damaged record is, since skipping it would lose every record in it without a word.
  const records = Array.isArray(value) ? value.filter(isAuditLike).length : 0;
  if (records > 0) {
    return rejected(
      diagnostic(
        'not-object',
        null,
        `expected a JSON object (one audit record), found an array of ${records === 1 ? 'an audit record' : `${records} audit records`}: audit-ship reads one record a line, as \`jq -c '.[]'\` writes them`,
      ),
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    if (options.mixed) return SKIPPED;
    const found = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return rejected(diagnostic('not-object', null, `expected a JSON object (one audit record), found ${found}`));
  }
  if (!looksLikeAuditRecord(value)) {
    if (options.mixed) return SKIPPED;
    return rejected(
      diagnostic(
        'not-audit-record',
        null,
        'JSON object is not an audit record (no RequestID, fewer than 3 audit fields); --mixed skips such lines',
      ),
    );
  }
  const record = value as Record<string, unknown>;
  const v = validateRecord(record, options);
  // A plain text search first: the walk runs only for the rare line that names the key at all, or
  // that has a \u escape, which can spell it (`"\u005f_proto__"` is the same key to JSON.parse).
  let diagnostics = text.includes('__proto__') || text.includes('\\u') ? v.diagnostics.concat(protoKeys(record, null)) : v.diagnostics;
  const twice = duplicateKeys(text);
  if (twice.length > 0) diagnostics = diagnostics.concat(twice);
  return {
    kind: 'record',
    record,
    json: text,
    diagnostics,
    valid: !hasError(diagnostics),
    seconds: v.seconds,
    nanoseconds: v.nanoseconds,
  };
}

/**
 * `__proto__` keys, at any depth. JSON.parse makes them harmless own properties, but a consumer
 * that copies the record into another object sets its prototype instead, and msgpack decoders in
 * JavaScript refuse the key, which would stall the whole chunk that carries it.
 */
function protoKeys(value: unknown, path: string | null, found: Diagnostic[] = [], depth = 0): Diagnostic[] {
  // Deeper than this, `ship` refuses the record anyway (too-deep); the bound keeps the stack safe.
  if (typeof value !== 'object' || value === null || depth > MAX_WALK_DEPTH) return found;
  if (Array.isArray(value)) {
    value.forEach((item, i) => protoKeys(item, itemPath(path, i), found, depth + 1));
    return found;
  }
  for (const key of Object.keys(value)) {
    const at = keyPath(path, key);
    if (key === '__proto__')
      found.push(diagnostic('forbidden-key', at, 'a key named __proto__ is refused: consumers would take it for the object prototype'));
    protoKeys((value as Record<string, unknown>)[key], at, found, depth + 1);
  }
  return found;
}

function lineTooLong(length: number, limit: number): LineVerdict {
  return rejected(diagnostic('line-too-long', null, `line is ${length} bytes, over the limit of ${limit} bytes`));
}

/** The verdict on one line as the splitter delivered it: over the limit, or classified. */
export function judgeLine(line: Line, options: ClassifyOptions & { maxLineBytes: number }): LineVerdict {
  return line.overLimit > 0 ? lineTooLong(line.overLimit, options.maxLineBytes) : classifyLine(line.bytes, options);
}
