/**
 * The audit record as a JSON Schema (draft 2020-12), built from the same field table as the validator.
 * Only errors are expressible here: the validator's warnings (non-UTC offset, unusual method,
 * size mismatch) do not make a record invalid, so they have no counterpart in the schema.
 */
import { HTTP_TOKEN_PATTERN } from './checks.js';
import { RECORD_FIELDS, USER_INFO_FIELDS, type FieldKind, type FieldSpec } from './fields.js';

type JsonSchema = Record<string, unknown>;

const UUID_V4_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$';
// `format: date-time` checks the calendar; the pattern narrows RFC 3339 to what the validator takes
// (0 to 9 fractional digits, `T` separator, `Z` or `±HH:MM`).
const TIMESTAMP_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$';

function kindSchema(kind: FieldKind, strict: boolean): JsonSchema {
  switch (kind) {
    case 'string':
      return { type: 'string' };
    case 'non-empty-string':
      return { type: 'string', minLength: 1 };
    case 'uuid':
      return { type: 'string', pattern: UUID_V4_PATTERN };
    case 'timestamp':
      return { type: 'string', format: 'date-time', pattern: TIMESTAMP_PATTERN };
    case 'method':
      return { type: 'string', pattern: HTTP_TOKEN_PATTERN };
    case 'status':
      return { type: 'integer', minimum: 100, maximum: 599 };
    case 'size':
      return { type: 'integer', minimum: 0 };
    case 'ip':
      return { type: 'string', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] };
    case 'string-array-or-null':
      return { type: ['array', 'null'], items: { type: 'string' } };
    case 'user-info':
      return objectSchema(USER_INFO_FIELDS, strict);
  }
}

function objectSchema(fields: readonly FieldSpec[], strict: boolean): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const f of fields) properties[f.name] = { description: f.description, ...kindSchema(f.kind, strict) };
  return {
    type: 'object',
    required: fields.map((f) => f.name),
    properties,
    additionalProperties: !strict,
  };
}

export function auditRecordJsonSchema(options: { strict: boolean }): JsonSchema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://audit-ship.invalid/schema/audit-record.json',
    title: 'Seldon Enterprise Platform audit record',
    description: 'One JSON object per request, as the platform writes it to stdout or forwards it to Fluentd.',
    ...objectSchema(RECORD_FIELDS, options.strict),
  };
}
