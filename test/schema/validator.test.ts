import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateRecord } from '../../src/schema/validator.js';
import { readCases, seedExample } from '../helpers/paths.js';

const lax = { strict: false };

describe('validateRecord', () => {
  it("accepts the platform's own example record, with its nanosecond time", () => {
    const v = validateRecord(seedExample(), lax);
    assert.deepEqual(v.diagnostics, []);
    assert.equal(v.timeOk, true);
    assert.equal(v.seconds, 1632313099);
    assert.equal(v.nanoseconds, 269456495);
  });

  for (const c of readCases('records-valid.jsonl')) {
    it(`valid: ${c.case}`, () => {
      assert.deepEqual(validateRecord(c.record, lax).diagnostics, []);
    });
  }

  for (const c of readCases('records-warning.jsonl')) {
    it(`warning only: ${c.case}`, () => {
      const ds = validateRecord(c.record, lax).diagnostics;
      assert.deepEqual(
        ds.map((d) => [d.severity, d.code]),
        [['warning', c.code]],
      );
    });
  }

  for (const c of readCases('records-invalid.jsonl')) {
    it(`invalid: ${c.case}`, () => {
      const ds = validateRecord(c.record, lax).diagnostics;
      const errors = ds.filter((d) => d.severity === 'error');
      assert.equal(errors.length, 1, JSON.stringify(ds));
      assert.equal(errors[0]!.code, c.code);
    });
  }

  it('names nested fields with a dotted path and says what it expected and found', () => {
    const r = seedExample();
    (r.UserInfo as Record<string, unknown>).Groups = 'admins';
    const [d] = validateRecord(r, lax).diagnostics;
    assert.equal(d!.field, 'UserInfo.Groups');
    assert.equal(d!.message, 'expected array of strings or null, found string "admins"');
  });

  it('points at the array element that is wrong', () => {
    const r = seedExample();
    (r.UserInfo as Record<string, unknown>).Groups = ['a', 7];
    assert.equal(validateRecord(r, lax).diagnostics[0]!.field, 'UserInfo.Groups[1]');
  });

  it('reports every missing field, not only the first', () => {
    const ds = validateRecord({ RequestID: 'ce5f10a2-c874-4115-881e-70e7c5e8eb3a' }, lax).diagnostics;
    assert.equal(ds.filter((d) => d.code === 'missing-field').length, 11);
  });

  it('allows unknown fields by default and rejects them with strict, at both levels', () => {
    const r = seedExample();
    r.Cluster = 'eu';
    (r.UserInfo as Record<string, unknown>).Tenant = 't1';
    assert.deepEqual(validateRecord(r, lax).diagnostics, []);
    const ds = validateRecord(r, { strict: true }).diagnostics;
    assert.deepEqual(
      ds.map((d) => [d.code, d.field]),
      [
        ['unknown-field', 'UserInfo.Tenant'],
        ['unknown-field', 'Cluster'],
      ],
    );
  });

  it('does not take inherited properties for fields', () => {
    const r = Object.create({ Host: 'inherited' }) as Record<string, unknown>;
    Object.assign(r, seedExample());
    delete r.Host;
    assert.equal(validateRecord(r, lax).diagnostics[0]!.code, 'missing-field');
  });

  it('cuts long values in messages so that a huge field cannot flood the output', () => {
    const r = seedExample();
    r.SourceAddress = 'x'.repeat(10000);
    const [d] = validateRecord(r, lax).diagnostics;
    assert.ok(d!.message.length < 200, d!.message);
  });
});
