/**
 * The lint baseline: the same file read through the same line splitter, each line checked with
 * JSON.parse and the ajv-compiled JSON Schema that `audit-ship schema` exports.
 * Prints a JSON summary on stderr like `audit-ship lint --summary json`.
 */
import { createRequire } from 'node:module';
import { splitLines } from '../src/input/lines.js';
import { openFileSource } from '../src/input/sources.js';
import { peakRssBytes } from '../src/cli/units.js';
import { auditRecordJsonSchema } from '../src/schema/json-schema.js';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020') as typeof import('ajv/dist/2020.js').default;
const addFormats = require('ajv-formats') as typeof import('ajv-formats').default;

const ajv = new Ajv2020({ allErrors: true });
addFormats(ajv);
const check = ajv.compile(auditRecordJsonSchema({ strict: false }));

const source = await openFileSource(process.argv[2]!);
const started = process.hrtime.bigint();
let valid = 0;
let invalid = 0;
for await (const batch of splitLines(source.chunks(), { maxLineBytes: 4 * 1024 * 1024 })) {
  for (const line of batch) {
    if (check(JSON.parse(line.bytes.toString('utf8')))) valid++;
    else invalid++;
  }
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stderr.write(`${JSON.stringify({ valid, invalid, bytes: source.bytesRead, seconds, peakRssBytes: peakRssBytes() })}\n`);
