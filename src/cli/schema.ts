/** `audit-ship schema`: prints the audit record's JSON Schema, which agrees with the validator. */
import { auditRecordJsonSchema } from '../schema/json-schema.js';

export async function schema(options: { strict: boolean }): Promise<void> {
  process.stdout.write(`${JSON.stringify(auditRecordJsonSchema(options), null, 2)}\n`);
}
