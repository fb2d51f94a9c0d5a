/** Container runtimes' own log files: CRI and Docker json-file entries made the lines they carry, split lines joined. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RuntimeLogJoiner } from '../../src/input/runtime-log.js';
import { criTag, kubectlPayloadOffset } from '../../src/input/kubectl-prefix.js';
import { splitLines, type Line } from '../../src/input/lines.js';
import { splitAtPadding } from '../../src/input/nul-padding.js';

const TS = '2021-09-22T12:18:19.269456495Z';

async function linesOf(text: string, maxLineBytes = 1 << 20): Promise<Line[]> {
  async function* one() {
    yield Buffer.from(text);
  }
  const out: Line[] = [];
  for await (const batch of splitLines(one(), { maxLineBytes })) out.push(...batch.map((l) => ({ ...l, bytes: Buffer.from(l.bytes) })));
  return out;
}

/** What the joiner hands on for `text`, with the rest at the end. */
async function joined(text: string, maxLineBytes = 1 << 20): Promise<Line[]> {
  const joiner = new RuntimeLogJoiner(maxLineBytes);
  const out: Line[] = [];
  for (const line of await linesOf(text)) {
    const whole = joiner.wants(line) ? joiner.take(line) : line;
    if (whole) out.push(whole);
  }
  return [...out, ...joiner.rest()];
}

/** Each line the joiner handed on, as its number and text. */
const numbered = (lines: Line[]) => lines.map((l) => [l.number, l.bytes.toString()]);

describe('CRI log lines', () => {
  it('finds the stream and tag after the time, and nothing in other lines', () => {
    const tag = (s: string) => criTag(Buffer.from(s), 0, s.length);
    assert.equal(tag(`${TS} stdout F {"a":1}`), 'F');
    assert.equal(tag(`${TS} stderr P {"a":`), 'P');
    assert.equal(tag(`${TS} {"a":1}`), null, 'kubectl --timestamps');
    assert.equal(tag(`${TS} stdin F x`), null);
    assert.equal(tag(`${TS} stdout X x`), null);
    assert.equal(tag('{"a":1}'), null);
    assert.equal(kubectlPayloadOffset(Buffer.from(`${TS} stdout F {"a":1}`)), TS.length + 10);
    assert.equal(kubectlPayloadOffset(Buffer.from(`${TS} stdout P {"a":1}`)), TS.length + 10);
  });

  it('joins the parts of a split line, numbered as its first part and ending where its last one ends', async () => {
    const text = `${TS} stdout F {"a":1}\n${TS} stdout P {"b":\n${TS} stdout P "long\n${TS} stdout F  value"}\n${TS} stdout F {"c":3}\n`;
    const out = await joined(text);
    assert.deepEqual(
      out.map((l) => [l.number, l.bytes.toString().slice(kubectlPayloadOffset(l.bytes))]),
      [
        [1, '{"a":1}'],
        [2, '{"b":"long value"}'],
        [5, '{"c":3}'],
      ],
    );
    assert.equal(out[1]!.end, text.indexOf(`${TS} stdout F {"c"`));
    assert.equal(out[1]!.unterminated, undefined);
  });

  it('hands on the parts no last part came for as one unfinished line', async () => {
    const out = await joined(`${TS} stdout F {"a":1}\n${TS} stdout P {"b":\n${TS} stdout P "cut`);
    assert.equal(out.length, 2);
    assert.equal(out[1]!.bytes.toString(), '{"b":"cut');
    assert.equal(out[1]!.number, 2);
    assert.equal(out[1]!.unterminated, true);
  });

  it('keeps the count of the zero padding the line reader cut from an entry, whole or in parts', async () => {
    const zeros = '\0'.repeat(500);
    const text = `${TS} stdout F {"cut${zeros}{"next":1}\n${TS} stdout P {"cut${zeros}\n${TS} stdout F {"next":2}\n`;
    const lines = await linesOf(text, 200);
    const joiner = new RuntimeLogJoiner(200);
    const out = lines.map((l) => (joiner.wants(l) ? joiner.take(l) : l)).filter((l) => l !== null);
    assert.deepEqual(
      out.map((l) => splitAtPadding(l)!.nuls),
      [500, 500],
    );
    assert.deepEqual(
      out.map((l) => splitAtPadding(l)!.parts.map((p) => p.bytes.toString())),
      [
        [`${TS} stdout F {"cut`, '{"next":1}'],
        ['{"cut', '{"next":2}'],
      ],
    );
  });

  it('reports a joined line over the limit by its length, keeping none of it', async () => {
    const out = await joined(`${TS} stdout P ${'x'.repeat(60)}\n${TS} stdout F ${'y'.repeat(60)}\n`, 100);
    assert.equal(out.length, 1);
    assert.equal(out[0]!.overLimit, 120);
    assert.equal(out[0]!.bytes.length, 0);
  });

  it('reads Docker json-file entries as the lines they carry, parts joined', async () => {
    const entry = (log: string) => JSON.stringify({ log, stream: 'stdout', time: TS });
    const text = [entry('{"a":1}\n'), entry('{"b":"lo'), entry('ng"}\n'), '{"log":"not an entry"}', entry('{"c":"\\u00e9"}\r\n')].join(
      '\n',
    );
    const out = await joined(`${text}\n${entry('{"d":')}`);
    assert.deepEqual(numbered(out), [
      [1, '{"a":1}'],
      [2, '{"b":"long"}'],
      [4, '{"log":"not an entry"}'],
      [5, '{"c":"\\u00e9"}\r'],
      [6, '{"d":'],
    ]);
    assert.equal(out[4]!.unterminated, true, 'its last part never came');
  });

  it("joins each stream apart: another stream's entries can come between the parts of a line", async () => {
    const text = [
      `${TS} stdout P {"b":`,
      `${TS} stderr F E0922 an error`,
      `${TS} stderr P {"e":`,
      `${TS} stdout F 2}`,
      `${TS} stderr F 5}`,
    ].join('\n');
    assert.deepEqual(numbered(await joined(`${text}\n`)), [
      [2, 'E0922 an error'],
      [1, '{"b":2}'],
      [3, '{"e":5}'],
    ]);
    const joiner = new RuntimeLogJoiner(1 << 20);
    const [first, second] = await linesOf(`${TS} stdout P {"b":\n${TS} stderr P {"e":\n`);
    assert.equal(joiner.take(first!), null);
    assert.equal(joiner.waiting, true);
    assert.equal(joiner.take(second!), null);
    assert.deepEqual(
      joiner.rest().map((l) => [l.number, l.bytes.toString(), l.unterminated]),
      [
        [1, '{"b":', true],
        [2, '{"e":', true],
      ],
    );
    assert.equal(joiner.waiting, false);
  });
});

describe('the events `audit-ship receive` writes', () => {
  it('are read as the records they hold, byte for byte; other objects stay lines', async () => {
    const event = (record: unknown) => JSON.stringify({ tag: 'deploy_audit.audit_ship', time: '2021-09-22T12:18:19.269456495Z', record });
    const text = [
      event({ a: 1, b: 'x"y' }),
      // Duplicate keys kept as they were written: the validator is the one to report them.
      event({ a: 1 }).replace('{"a":1}', '{"a":1,"a":2}'),
      event({ a: 1 }).replace('"record"', '"extra":0,"record"'),
      event([1]),
      // A tag spelt with an escape: the record is read, re-encoded.
      event({ d: 4 }).replace('"deploy_audit.audit_ship"', '"deploy_audit\\u002eaudit_ship"'),
      '{"tag":"t"}',
      // An event a Fluent Bit client sent with metadata: the record, re-encoded; metadata that is no map stays a line.
      event({ e: 5 }).replace(/}$/, ',"metadata":{"otlp":{}}}'),
      event({ e: 6 }).replace(/}$/, ',"metadata":[1]}'),
    ].join('\n');
    assert.deepEqual(numbered(await joined(`${text}\n`)), [
      [1, '{"a":1,"b":"x\\"y"}'],
      [2, '{"a":1,"a":2}'],
      [3, event({ a: 1 }).replace('"record"', '"extra":0,"record"')],
      [4, event([1])],
      [5, '{"d":4}'],
      [6, '{"tag":"t"}'],
      [7, '{"e":5}'],
      [8, event({ e: 6 }).replace(/}$/, ',"metadata":[1]}')],
    ]);
  });
});
