import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyLine, cutShort, type LineVerdict } from '../../src/schema/line.js';
import { kubectlPayloadOffset, kubectlPayloadStart } from '../../src/input/kubectl-prefix.js';
import { seedExample } from '../helpers/paths.js';

const record = JSON.stringify(seedExample());
const strictLines = { mixed: false, strict: false };
const mixed = { mixed: true, strict: false };

function classify(text: string | Buffer, options = strictLines): LineVerdict {
  return classifyLine(Buffer.isBuffer(text) ? text : Buffer.from(text), options);
}

function codes(v: LineVerdict): string[] {
  return v.kind === 'rejected' || v.kind === 'record' ? v.diagnostics.map((d) => d.code) : [];
}

describe('kubectl prefixes', () => {
  it('detects --timestamps', () => {
    const v = classify(`2021-09-22T12:18:19.269456495Z ${record}`);
    assert.equal(v.kind, 'record');
    assert.deepEqual(codes(v), []);
  });

  it('detects --prefix', () => {
    const v = classify(`[pod/seldon-deploy-7c9f/seldon-deploy] ${record}`);
    assert.equal(v.kind, 'record');
  });

  it('detects both together, pod prefix first', () => {
    const v = classify(`[pod/seldon-deploy-7c9f/seldon-deploy] 2021-09-22T12:18:19Z ${record}`);
    assert.equal(v.kind, 'record');
    assert.equal(v.kind === 'record' && v.json, record);
  });

  it("detects Fluentd out_file's time and tag, and nothing that only begins like them", () => {
    const v = classify(`2021-09-22T12:18:19+00:00\tdeploy_audit.audit_ship\t${record}`);
    assert.equal(v.kind, 'record');
    assert.equal(v.kind === 'record' && v.json, record);
    assert.equal(kubectlPayloadOffset(Buffer.from(`2021-09-22T12:18:19Z\t${record}`)), 0, 'no tag');
    assert.equal(kubectlPayloadOffset(Buffer.from(`2021-09-22T12:18:19Z\tthe tag\t${record}`)), 0, 'a tag has no space');
    assert.equal(kubectlPayloadOffset(Buffer.from(`2021-09-22T12:18:19Z\t\t${record}`)), 0, 'an empty tag');
  });

  it("detects syslog's time, host and tag before a JSON object, and nothing else a syslog file holds", () => {
    for (const time of ['Sep 22 12:18:19', 'Sep  2 02:18:19', '2021-09-22T12:18:19.269456+00:00']) {
      for (const tag of ['seldon-deploy[4711]', 'seldon']) {
        const line = `${time} node-1 ${tag}: ${record}`;
        assert.equal(kubectlPayloadOffset(Buffer.from(line)), line.length - record.length, line.slice(0, 60));
        const v = classify(line);
        assert.equal(v.kind === 'record' && v.json, record);
      }
    }
    const none = [
      'Sep 22 12:18:19 node-1 systemd[1]: Started Session 4 of user root.',
      `Sep 22 12:18:19 node-1 ${record}`,
      `Sep 22 12:18:19 node-1 a tag: ${record}`,
      `Sep 22 12:18:19 node-1 : ${record}`,
      `sep 22 12:18:19 node-1 seldon: ${record}`,
      `Sep 22 12:18 node-1 seldon: ${record}`,
    ];
    for (const line of none) assert.equal(kubectlPayloadOffset(Buffer.from(line)), 0, line.slice(0, 60));
    const stamped = `2021-09-22T12:18:19Z node-1 systemd[1]: Started.`;
    assert.equal(kubectlPayloadOffset(Buffer.from(stamped)), 21, 'not a record: only the time, as kubectl --timestamps has it');
  });

  it('leaves lines without a prefix alone', () => {
    assert.equal(kubectlPayloadOffset(Buffer.from(record)), 0);
    assert.equal(kubectlPayloadOffset(Buffer.from('[1,2] x')), 0);
    assert.equal(kubectlPayloadOffset(Buffer.from('[pod/a b] {}')), 0);
  });

  it('reads a line held in a larger chunk only between its ends', () => {
    // Each line is cut short of a prefix that the bytes after it would complete.
    const cases: [line: string, after: string][] = [
      ['[pod/a/b] 2021-09-22T12:18:19Z {}', ''],
      ['[pod/a/b] {}', ' x'],
      ['2021-09-22T12:18:19.269456495Z {}', ''],
      ['2021-09-22T12:18:1', '9Z {}'],
      ['2021-09-22T12:18:19Z', ' {}'],
      ['[pod/a/b', '] {}'],
      ['[pod/a/b]', ' {}'],
      ['[po', 'd/a/b] {}'],
      ['[pod/a/b] 2021-09-22T12', ':18:19Z {}'],
      ['', '[pod/a/b] {}'],
      ['Sep 22 12:18:19 node-1 seldon:', ' {}'],
      ['Sep 22 12:18:19 node-1 seldon: ', '{}'],
      ['Sep 22 12:18:19 node-1', ' seldon: {}'],
      ['2021-09-22T12:18:19Z node-1 seldon: ', '{}'],
    ];
    for (const [text, after] of cases) {
      const line = Buffer.from(text);
      const chunk = Buffer.concat([Buffer.from('[pod/x/y] 2021-09-22T12:18:19Z {}\n'), line, Buffer.from(after)]);
      const start = chunk.length - line.length - after.length;
      assert.equal(
        kubectlPayloadStart(chunk, start, start + line.length) - start,
        kubectlPayloadOffset(line),
        JSON.stringify([text, after]),
      );
    }
    assert.equal(kubectlPayloadOffset(Buffer.from('[pod/a/b] 2021-09-22T12:18:19Z {}')), 31, 'both prefixes are found');
  });
});

describe('classifyLine', () => {
  it('skips blank and whitespace-only lines', () => {
    assert.equal(classify('').kind, 'blank');
    assert.equal(classify(' \t ').kind, 'blank');
  });

  it('returns the record with its event time', () => {
    const v = classify(record);
    assert.equal(v.kind, 'record');
    if (v.kind === 'record') {
      assert.equal(v.valid, true);
      assert.equal(v.seconds, 1632313099);
      assert.equal(v.nanoseconds, 269456495);
    }
  });

  it('reports invalid UTF-8 instead of replacing it', () => {
    const bad = Buffer.concat([Buffer.from('{"Host":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    assert.deepEqual(codes(classify(bad)), ['invalid-utf8']);
    assert.deepEqual(codes(classify(bad, mixed)), ['invalid-utf8'], 'even with --mixed: it may be a damaged record');
  });

  it('reports a non-JSON line as an error without --mixed and skips it with --mixed', () => {
    const line = 'I0922 12:18:19.269 server.go:42] listening on :8000';
    assert.deepEqual(codes(classify(line)), ['not-json']);
    assert.equal(classify(line, mixed).kind, 'skipped');
  });

  it('says once, at its first line, that a record spread over lines needs one a line', () => {
    const lines = JSON.stringify(JSON.parse(record), null, 2).split('\n');
    const messages = lines.map((l) => {
      const v = classify(l);
      return v.kind === 'rejected' ? v.diagnostics[0]!.message : v.kind;
    });
    assert.match(
      messages[0]!,
      /^not valid JSON: .*; a record spread over lines \(pretty-printed JSON\?\): audit-ship reads one record a line, as `jq -c \.` writes them$/,
    );
    assert.equal(messages.filter((m) => m.includes('spread over lines')).length, 1);
  });

  // An API response saved: every record in it was skipped with --mixed (exit 0), or given no hint.
  it('reports an array of records on one line, even with --mixed, and says how to make one a line', () => {
    const array = `[${record},${record}]`;
    for (const options of [strictLines, mixed]) {
      const v = classify(array, options);
      assert.equal(v.kind, 'rejected');
      assert.equal(
        v.kind === 'rejected' && v.diagnostics[0]!.message,
        "expected a JSON object (one audit record), found an array of 2 audit records: audit-ship reads one record a line, as `jq -c '.[]'` writes them",
      );
    }
    const one = classify(`[1,${record}]`);
    assert.match(one.kind === 'rejected' ? one.diagnostics[0]!.message : '', /found an array of an audit record:/);
    assert.equal(classify('[{"level":"info"}]', mixed).kind, 'skipped', 'an array of other things is still skipped with --mixed');
    const lines = JSON.stringify([JSON.parse(record)], null, 2).split('\n');
    const first = classify(lines[0]!);
    assert.match(
      first.kind === 'rejected' ? first.diagnostics[0]!.message : '',
      /; an array spread over lines \(pretty-printed JSON\?\): audit-ship reads one record a line, as `jq -c '\.\[\]'` writes them$/,
    );
  });

  it('reports truncated JSON that looks like an audit record even with --mixed', () => {
    const truncated = record.slice(0, record.length - 40);
    assert.deepEqual(codes(classify(truncated, mixed)), ['not-json']);
  });

  it('treats a JSON application log as not an audit record', () => {
    const log = '{"level":"info","ts":1632313099.2,"msg":"request served","status":200}';
    assert.deepEqual(codes(classify(log)), ['not-audit-record']);
    assert.equal(classify(log, mixed).kind, 'skipped');
  });

  it('validates an object that looks like an audit record even with --mixed', () => {
    const partial = JSON.stringify({ RequestID: 'ce5f10a2-c874-4115-881e-70e7c5e8eb3a', Host: 'h' });
    const v = classify(partial, mixed);
    assert.equal(v.kind, 'record');
    assert.equal(v.kind === 'record' && v.valid, false);
    const threeFields = JSON.stringify({ Host: 'h', Method: 'GET', URI: '/x' });
    assert.equal(classify(threeFields, mixed).kind, 'record');
    assert.equal(classify(JSON.stringify({ Host: 'h', Method: 'GET' }), mixed).kind, 'skipped');
  });

  it('reports JSON that is not an object without --mixed', () => {
    assert.deepEqual(codes(classify('[1,2]')), ['not-object']);
    assert.deepEqual(codes(classify('"text"')), ['not-object']);
    assert.deepEqual(codes(classify('null')), ['not-object']);
    assert.equal(classify('42', mixed).kind, 'skipped');
  });

  it('does not let a __proto__ key reach the prototype', () => {
    const v = classify(`{"__proto__":{"polluted":true},${record.slice(1)}`);
    assert.equal(v.kind, 'record');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('cutShort', () => {
  const line = (bytes: Buffer | string) => ({ number: 1, bytes: Buffer.from(bytes), overLimit: 0, end: 0 });

  it('is true only for a line that holds no whole JSON value yet', () => {
    assert.equal(cutShort(line(record.slice(0, 100))), true);
    assert.equal(cutShort(line('I0922 12:18:19 server sta')), true);
    assert.equal(cutShort(line(record)), false);
    assert.equal(cutShort(line('{"RequestID":"x"}')), false, 'whole, though no valid record');
    assert.equal(cutShort(line(' \t')), false);
  });

  it('judges the part after the last zero padding', () => {
    assert.equal(cutShort(line(Buffer.concat([Buffer.from(record), Buffer.alloc(100)]))), false);
    assert.equal(cutShort(line(Buffer.concat([Buffer.from(record.slice(0, 50)), Buffer.alloc(100)]))), true, 'a record the crash cut');
    assert.equal(cutShort(line(Buffer.concat([Buffer.from(record.slice(0, 50)), Buffer.alloc(100), Buffer.from(record)]))), false);
    assert.equal(cutShort(line(Buffer.alloc(100))), false, 'padding alone');
  });
});
