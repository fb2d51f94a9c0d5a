import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { duplicateKeys, MAX_WALK_DEPTH } from '../../src/schema/duplicate-keys.js';
import { classifyLine } from '../../src/schema/line.js';
import { seedExample } from '../helpers/paths.js';

const record = JSON.stringify(seedExample());

/** Each warning as `field: message`, in the order given. */
function found(text: string): string[] {
  JSON.parse(text); // the walk is given only what JSON.parse accepted
  return duplicateKeys(text).map((d) => `${d.severity} ${d.field}: ${d.message}`);
}

const twice = 'the key appears 2 times in its object: only its last value is checked and shipped';

describe('duplicateKeys', () => {
  it('finds nothing in a record whose keys each come once', () => {
    assert.deepEqual(found(record), []);
  });

  it('warns of a top-level key written twice, once, with how often it came', () => {
    assert.deepEqual(found(record.replace('{', '{"Method":5,')), [`warning Method: ${twice}`]);
    assert.deepEqual(found('{"a":1,"b":2,"a":3,"a":4,"b":5}'), [
      'warning a: the key appears 3 times in its object: only its last value is checked and shipped',
      `warning b: ${twice}`,
    ]);
  });

  it('counts the keys of a large object as those of a small one', () => {
    const many = Array.from({ length: 100 }, (_, i) => `"k${i}":${i}`).join(',');
    assert.deepEqual(found(`{${many},"k0":1,"k50":2,"k99":3,"k50":4}`), [
      `warning k0: ${twice}`,
      'warning k50: the key appears 3 times in its object: only its last value is checked and shipped',
      `warning k99: ${twice}`,
    ]);
    assert.deepEqual(found(`{${many}}`), []);
  });

  it('names a nested key by its path, through objects and arrays', () => {
    assert.deepEqual(found('{"UserInfo":{"Id":"a","Name":"b","Id":"c"}}'), [`warning UserInfo.Id: ${twice}`]);
    assert.deepEqual(found('{"Extra":[1,{"k":1},{"k":1,"k":2}]}'), [`warning Extra[2].k: ${twice}`]);
    assert.deepEqual(found('{"E":[[{"k":0}],[{},{"k":1,"k":2}]]}'), [`warning E[1][1].k: ${twice}`]);
  });

  it('takes the same key in sibling or nested objects for what it is: another key', () => {
    assert.deepEqual(found('{"a":{"a":1},"b":{"a":2},"c":[{"a":3},{"a":4}]}'), []);
  });

  it('knows a key however it is spelt, and nothing inside a string for a key', () => {
    assert.deepEqual(found('{"Host":"x","H\\u006fst":"y"}'), [`warning Host: ${twice}`]);
    assert.deepEqual(found('{"a\\\\":1,"a\\\\":2}'), [`warning a\\: ${twice}`]);
    // A body holding JSON text, quotes escaped: its keys are not the record's.
    assert.deepEqual(found('{"ResponseBody":"{\\"Host\\":1,\\"Host\\":2}","Host":"h","s":"\\\\","Host2":"[{\\""}'), []);
  });

  it('walks any depth without a call stack, and does not look past MAX_WALK_DEPTH', () => {
    const deep = (n: number, inner: string) => `${'{"a":'.repeat(n)}${inner}${'}'.repeat(n)}`;
    const path = Array.from({ length: MAX_WALK_DEPTH - 1 }, () => 'a').join('.');
    assert.deepEqual(found(deep(MAX_WALK_DEPTH - 1, '{"k":1,"k":2}')), [`warning ${path}.k: ${twice}`]);
    assert.deepEqual(found(deep(MAX_WALK_DEPTH, '{"k":1,"k":2}')), []);
    assert.deepEqual(found(`{"x":${'['.repeat(100_000)}${']'.repeat(100_000)},"x":1}`), [`warning x: ${twice}`]);
  });
});

describe('a record with a duplicate key', () => {
  it('is valid, with a warning, and the last value is what is checked', () => {
    const last = classifyLine(Buffer.from(record.replace('{', '{"Method":5,')), { mixed: false, strict: false });
    assert.equal(last.kind, 'record');
    assert.ok(last.kind === 'record' && last.valid);
    assert.deepEqual(last.kind === 'record' && last.diagnostics.map((d) => `${d.code} ${d.field}`), ['duplicate-key Method']);

    const first = classifyLine(Buffer.from(`${record.slice(0, -1)},"Method":5}`), { mixed: false, strict: false });
    assert.ok(first.kind === 'record' && !first.valid);
    assert.deepEqual(first.kind === 'record' && first.diagnostics.map((d) => `${d.code} ${d.field}`), [
      'wrong-type Method',
      'duplicate-key Method',
    ]);
  });
});
