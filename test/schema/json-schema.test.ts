/**
 * The exported JSON Schema and the validator must agree. An independent validator (ajv) judges the
 * schema, so a mistake in either side shows up as a disagreement on some corpus record.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRequire } from 'node:module';
import { auditRecordJsonSchema } from '../../src/schema/json-schema.js';
import { validateRecord } from '../../src/schema/validator.js';
import { sampleRecords } from '../../src/sample/generate.js';
import { readCases, seedExample } from '../helpers/paths.js';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020') as typeof import('ajv/dist/2020.js').default;
const addFormats = require('ajv-formats') as typeof import('ajv-formats').default;

function compile(strict: boolean) {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  return ajv.compile(auditRecordJsonSchema({ strict }));
}

function corpus(): { name: string; record: Record<string, unknown> }[] {
  const items = [{ name: 'seed example', record: seedExample() }];
  for (const file of ['records-valid.jsonl', 'records-warning.jsonl', 'records-invalid.jsonl']) {
    for (const c of readCases(file)) items.push({ name: `${file}: ${c.case}`, record: c.record });
  }
  let i = 0;
  for (const record of sampleRecords(2000, { seed: 7, start: 1632312000 })) items.push({ name: `sample ${i++}`, record });
  return items;
}

describe('audit-ship schema agrees with the validator', () => {
  for (const strict of [false, true]) {
    it(`on the whole fixture corpus and 2000 generated records (strict=${strict})`, () => {
      const check = compile(strict);
      const items = corpus();
      if (strict) {
        const r = seedExample();
        r.Extra = 1;
        items.push({ name: 'unknown field', record: r });
      }
      let valid = 0;
      let invalid = 0;
      for (const { name, record } of items) {
        const ours = !validateRecord(record, { strict }).diagnostics.some((d) => d.severity === 'error');
        const theirs = check(record);
        assert.equal(theirs, ours, `${name}: ajv says ${theirs}, validator says ${ours}: ${JSON.stringify(check.errors)}`);
        if (ours) valid++;
        else invalid++;
      }
      assert.ok(valid > 2000 && invalid >= 43, `corpus has both kinds: ${valid} valid, ${invalid} invalid`);
    });
  }

  it('is a draft 2020-12 schema that requires all twelve fields', () => {
    const s = auditRecordJsonSchema({ strict: false });
    assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal((s.required as string[]).length, 12);
    assert.equal(s.additionalProperties, true);
    assert.equal(auditRecordJsonSchema({ strict: true }).additionalProperties, false);
  });
});
