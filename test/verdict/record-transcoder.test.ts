/**
 * The fast path against the full one: whatever line the transcoder accepts, JSON.parse and the
 * validator must find a valid record with no diagnostic at all, and MsgpackWriter must write the
 * same bytes for the parsed record. Lines it should take are checked to be taken, so that a
 * transcoder that declines everything cannot pass. Every line is also given as a range of a larger
 * chunk, as the line splitter hands lines on, which must change nothing.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MsgpackWriter } from '../../src/msgpack/writer.js';
import { classifyLine } from '../../src/schema/line.js';
import { prng, sampleLines, sampleRecords } from '../../src/sample/generate.js';
import { RecordTranscoder, type TranscodedRecord } from '../../src/verdict/record-transcoder.js';
import { ROOT } from '../helpers/paths.js';

type Outcome = { taken: false } | { taken: true; bytes: Buffer; seconds: number; nanoseconds: number; requestId: string };

function fast(line: string | Buffer, strict = false): Outcome {
  const bytes = typeof line === 'string' ? Buffer.from(line) : line;
  const alone = transcoded(strict, (t) => t.transcode(bytes));
  // The same line as the splitter hands it on: a range of the chunk it was read in, between
  // neighbours that would change its verdict if it were read past either end (quotes, a kubectl
  // prefix, the rest of a record). Its answer must be the same, told its bytes are UTF-8 or not.
  const chunk = Buffer.concat([BEFORE, bytes, AFTER]);
  const [start, stop] = [BEFORE.length, BEFORE.length + bytes.length];
  assert.deepEqual(
    transcoded(strict, (t) => t.transcodeRange(chunk, start, stop, false)),
    alone,
    `a range of a chunk: ${bytes.toString().slice(0, 200)}`,
  );
  if (isUtf8(bytes))
    assert.deepEqual(
      transcoded(strict, (t) => t.transcodeRange(chunk, start, stop, true)),
      alone,
    );
  return alone;
}

const BEFORE = Buffer.from('[pod/a/b] {"Host":"x","URI":"\\"}\n');
const AFTER = Buffer.from('\n2021-09-22T12:00:00Z "RequestID":"ce5f10a2-c874-4115-881e-70e7c5e8eb3a"} [pod/a/b] ');

function transcoded(strict: boolean, run: (t: RecordTranscoder) => TranscodedRecord | null): Outcome {
  const out = new MsgpackWriter(64, 100);
  out.byte(0xff); // the record is written after what the writer already holds
  const result = run(new RecordTranscoder(out, strict));
  if (!result) return { taken: false };
  const { seconds, nanoseconds } = result;
  return {
    taken: true,
    bytes: Buffer.from(out.buf.subarray(1, out.pos)),
    seconds,
    nanoseconds,
    requestId: result.requestId(),
  };
}

/** Checks the transcoder's answer on one line against the full path; returns whether it was taken. */
function agrees(line: string | Buffer, strict = false): boolean {
  const bytes = typeof line === 'string' ? Buffer.from(line) : line;
  const outcome = fast(bytes, strict);
  if (!outcome.taken) return false;
  const verdict = classifyLine(bytes, { mixed: false, strict });
  assert.equal(verdict.kind, 'record', `taken but not a record: ${bytes.toString().slice(0, 200)}`);
  if (verdict.kind !== 'record') return true;
  assert.deepEqual(verdict.diagnostics, [], `taken but the validator says: ${bytes.toString().slice(0, 200)}`);
  const full = new MsgpackWriter(64, 100);
  full.value(verdict.record);
  assert.ok(outcome.bytes.equals(full.buf.subarray(0, full.pos)), `different bytes for ${bytes.toString().slice(0, 200)}`);
  assert.equal(outcome.seconds, verdict.seconds);
  assert.equal(outcome.nanoseconds, verdict.nanoseconds);
  assert.equal(outcome.requestId, verdict.record.RequestID);
  return true;
}

const USER = { Id: 'seldon', Name: 'Hari Seldon', Email: 'admin@seldon.io', Groups: ['data-scientist'] };
const base = (): Record<string, unknown> => ({
  ...sampleRecords(1, { seed: 5, start: 1632312000 }).next().value!,
  Method: 'GET',
  UserInfo: USER,
});
/** A replacement that must apply, so that no case of the table is silently the unchanged line. */
const swap = (text: string, from: string, to: string): string => {
  assert.ok(text.includes(from), `${from} is not in the line`);
  return text.replace(from, to);
};
const line = (overrides: Record<string, unknown>, omit: string[] = []): string => {
  const record = { ...base(), ...overrides };
  for (const key of omit) delete record[key];
  return JSON.stringify(record);
};
const withBody = (body: string) => line({ ResponseBody: body, ResponseSize: Buffer.byteLength(body) });

describe('RecordTranscoder', () => {
  it('takes every generated record and writes the bytes, time and ids of the full path', () => {
    for (const text of sampleLines(3000, { seed: 11, start: 1632312000 })) assert.ok(agrees(text), text.slice(0, 200));
  });

  it('takes escapes, non-ASCII text, long strings and large maps and arrays, with the same bytes', () => {
    const takes = [
      withBody('plain'),
      withBody('quote " backslash \\ slash / and \b\f\n\r\t controls \u0001 \u001f'),
      withBody('accents é ü, CJK 漢字, emoji 😀 and U+FFFF \uffff'),
      withBody('<html>&amp;</html>'.repeat(40)),
      withBody('x'.repeat(31)),
      withBody('x'.repeat(32)),
      withBody('x'.repeat(255)),
      withBody('x'.repeat(256)),
      withBody('"'.repeat(40)),
      withBody('"'.repeat(300)),
      withBody('é'.repeat(40000)),
      withBody('\\'.repeat(70000)),
      withBody('x'.repeat(65535)),
      withBody('x'.repeat(65536)),
      line({ Referer: '', UserAgent: '' }),
      line({ UserInfo: { Id: 'a', Name: 'b', Email: 'c', Groups: null } }),
      line({ UserInfo: { Id: 'a', Name: 'b', Email: 'c', Groups: [] } }),
      line({ UserInfo: { Id: 'a', Name: 'b', Email: 'c', Groups: Array.from({ length: 20 }, (_, i) => `g${i}`) } }),
      line({ UserInfo: { Groups: ['x'], Email: 'c', Name: 'b', Id: 'a' } }),
      line({
        Extra: 1,
        Other: 'x',
        More: [1, -2, 'y', true, null],
        Neg: -70000,
        Big: 123456789012345,
        Zero: 0,
        Flag: false,
        Nothing: null,
        E: [],
      }),
      JSON.stringify(Object.fromEntries([...Object.entries(base()), ...Array.from({ length: 20 }, (_, i) => [`extra${i}`, i * 1000])])),
      line({ Timestamp: '2021-09-22T12:00:00Z' }),
      line({ Timestamp: '2021-09-22T12:00:00.1Z' }),
      line({ Timestamp: '2021-09-22T12:00:00.123456789+00:00' }),
      line({ SourceAddress: '2001:db8::1' }),
      line({ Method: 'DELETE' }),
      line({ RequestID: 'CE5F10A2-C874-4115-881E-70E7C5E8EB3A' }),
    ];
    takes.push(`  ${takes[0]} \t`, `[pod/seldon-deploy-1/audit] 2021-09-22T12:18:19.269456495Z ${takes[0]}`);
    takes.push(takes[2]!.replace('é', '\\u00e9').replace('漢', '\\u6f22').replace('😀', '\\ud83d\\ude00'));
    takes.push(takes[0]!.replace('"plain"', '"pl\\u0061in"'));
    for (const text of takes) assert.ok(agrees(text), `declined: ${text.slice(0, 200)}`);
  });

  it('finds a quote, backslash, control or non-ASCII byte at every place of a word, in the last string of a line too', () => {
    // Plain runs are copied four bytes at a time: each byte that ends one is put at every offset,
    // so that it falls in every place of a word and in the bytes left over after the last word.
    const last = (agent: string): string => {
      const record = base();
      delete record.UserAgent;
      return JSON.stringify({ ...record, UserInfo: USER, UserAgent: agent });
    };
    const around = ['"', '\\', '/', '\n', '\u0001', '\u001f', ' ', '!', '#', '[', ']', '\u007f', '\u0080', 'é', '漢', '😀'];
    let taken = 0;
    for (let before = 0; before < 10; before++) {
      for (let after = 0; after < 6; after++) {
        for (const c of around) {
          const agent = `${'a'.repeat(before)}${c}${'b'.repeat(after)}`;
          for (const text of [line({ UserAgent: agent }), last(agent)]) {
            assert.ok(agrees(text), `declined: ${JSON.stringify(agent)}`);
            taken++;
          }
          // The same bytes unescaped: a raw control byte is not JSON, so the full path must judge it.
          if (c < ' ') {
            const raw = line({ UserAgent: agent.replace(c, '@') }).replace(`"${agent.replace(c, '@')}"`, `"${agent}"`);
            assert.ok(raw.includes(c), 'the control byte is in the line as it stands');
            assert.equal(fast(raw).taken, false, `took a raw control byte: ${JSON.stringify(agent)}`);
          }
        }
      }
    }
    assert.equal(taken, 10 * 6 * around.length * 2);
  });

  it('declines what only the full path may judge: invalid records, warnings, duplicates and unusual JSON', () => {
    const good = line({});
    const declines = [
      line({ ResponseSize: 999 }),
      line({ ResponseStatus: 700 }),
      line({ ResponseStatus: 200.5 }),
      line({ ResponseSize: -1 }),
      line({ Method: 'BREW' }),
      line({ Method: 'get ' }),
      line({ RequestID: 'ce5f10a2-c874-1115-881e-70e7c5e8eb3a' }),
      line({ RequestID: 'nope' }),
      line({ SourceAddress: '1.2.3' }),
      line({ SourceAddress: 'fe80::1%eth0' }),
      line({ Host: '' }),
      line({ URI: 7 }),
      line({ Timestamp: '2021-09-22T12:00:00+02:00' }),
      line({ Timestamp: '2021-02-30T12:00:00Z' }),
      line({ Timestamp: '2021-09-22 12:00:00Z' }),
      line({}, ['Host']),
      line({}, ['UserInfo']),
      line({ UserInfo: { Id: 'a', Name: 'b', Email: 'c' } }),
      line({ UserInfo: { Id: 'a', Name: 'b', Email: 'c', Groups: [1] } }),
      line({ UserInfo: { Id: 'a', Name: 'b', Email: 'c', Groups: null, Role: 'x' } }),
      line({ UserInfo: null }),
      line({ Nested: { a: 1 } }),
      line({ Deep: [[1]] }),
      line({ Ratio: 0.5 }),
      line({ '1': 'index-like key' }),
      swap(good, '{', '{"__proto__":1,'),
      swap(good, '{', '{"Extra":1,"Extra":2,'),
      swap(good, '{', '{"Host":"again",'),
      swap(good, '"Host"', '"H\\u006fst"'),
      swap(good, '"GET"', '"G\\u0000ET"'),
      withBody('lone \ud800 surrogate'),
      swap(good, '"Hari Seldon"', '"Hari\tSeldon"'),
      swap(good, '"Hari Seldon"', '"Hari\u0000Seldon"'),
      `${good}x`,
      `${good},`,
      good.slice(0, -1),
      good.slice(0, 200),
      swap(good, ',', ',,'),
      swap(good, '":', '" :: '),
      swap(good, '"ResponseStatus":', '"ResponseStatus":0'),
      swap(good, '"ResponseSize":', '"ResponseSize":00'),
      '{}',
      '[]',
      '',
      'null',
      swap(withBody('x'.repeat(10)), '"ResponseSize":10', '"ResponseSize":1e1'),
    ];
    for (const text of declines) assert.equal(agrees(text), false, `taken: ${text.slice(0, 300)}`);
    assert.equal(agrees(Buffer.concat([Buffer.from(good.slice(0, 20)), Buffer.from([0xc3, 0x28]), Buffer.from(good.slice(20))])), false);
    assert.equal(agrees(line({ Extra: 1 }), true), false, '--strict: an unknown field is an error');
    assert.equal(agrees(good, true), true, '--strict: a record with only known fields is taken');
  });

  it('never disagrees with the full path on thousands of generated records, valid and not', () => {
    const rand = prng(1919);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const text = () =>
      pick(['', 'a', 'Hari Seldon', 'é漢😀', 'tab\there', 'nul\u0000', 'lone \ud800', 'quote"back\\', 'x'.repeat(300), '\u2028']);
    // Each field is left as it was, or given a value of another kind, an edge value or none at all.
    const values: Record<string, () => unknown> = {
      ResponseStatus: () => pick([200, 599, 100, 99, 600, 200.5, -1, '200', null, 1e2]),
      ResponseSize: () => pick([0, 5, -1, 1.5, '5', null, 2 ** 53]),
      Method: () => pick(['GET', 'POST', 'get', 'BREW', '', 7]),
      RequestID: () =>
        pick([
          'ce5f10a2-c874-4115-881e-70e7c5e8eb3a',
          'CE5F10A2-C874-4115-881E-70E7C5E8EB3A',
          'ce5f10a2-c874-1115-881e-70e7c5e8eb3a',
          'x',
          1,
        ]),
      SourceAddress: () => pick(['10.1.2.3', '2001:db8::1', '256.1.1.1', '::ffff:1.2.3.4', 'host', '']),
      Timestamp: () =>
        pick([
          '2021-09-22T12:00:00Z',
          '2021-09-22T12:00:00.123456789Z',
          '2021-09-22T12:00:00+01:00',
          '2021-13-01T00:00:00Z',
          '2021-09-22',
          0,
        ]),
      Host: text,
      URI: text,
      UserAgent: text,
      Referer: text,
      UserInfo: () =>
        pick([
          USER,
          { ...USER, Groups: null },
          { ...USER, Groups: [text(), text()] },
          { ...USER, Groups: [1] },
          { Id: text(), Name: text(), Email: text() },
          { ...USER, Extra: 1 },
          null,
          'user',
        ]),
    };
    let [taken, declined] = [0, 0];
    for (let i = 0; i < 4000; i++) {
      const record: Record<string, unknown> = { ...base() };
      for (const [key, value] of Object.entries(values)) {
        const roll = rand();
        if (roll < 0.08) record[key] = value();
        else if (roll < 0.09) delete record[key];
      }
      if (rand() < 0.1) record[pick(['Extra', 'Trace', '__proto__', '7', 'Host2'])] = pick([1, 'x', null, [1, 'y'], { a: 1 }, 0.5, true]);
      if (typeof record.ResponseBody === 'string' && rand() < 0.3) {
        record.ResponseBody = text();
        record.ResponseSize = rand() < 0.8 ? Buffer.byteLength(record.ResponseBody as string) : 3;
      }
      const entries = Object.entries(record);
      if (rand() < 0.1) entries.reverse();
      const json = JSON.stringify(Object.fromEntries(entries), null, pick([undefined, undefined, undefined, 0, 1, '\t']));
      if (agrees(json)) taken++;
      else declined++;
    }
    assert.ok(taken > 1000 && declined > 1000, `${taken} taken, ${declined} declined: the generator should give plenty of both`);
  });

  it('never disagrees with the full path on the checked-in bad input', () => {
    const lines = readFileSync(join(ROOT, 'test', 'fixtures', 'bad-input.jsonl'))
      .toString('latin1')
      .split('\n');
    let taken = 0;
    for (const text of lines) if (agrees(Buffer.from(text, 'latin1'))) taken++;
    assert.ok(taken > 0 && taken < lines.length, `${taken} of ${lines.length} taken`);
  });

  it('never disagrees with the full path on thousands of randomly damaged records', () => {
    const rand = prng(2026);
    const pieces = [
      '"',
      '\\',
      '\\"',
      '\\u',
      '\\ud800',
      '\\u00e9',
      ',',
      ':',
      '{',
      '}',
      '[',
      ']',
      ' ',
      '\t',
      '0',
      '-',
      '.',
      'e',
      'null',
      'é',
      '\u0001',
      '\u00ff',
    ];
    const originals = [...sampleLines(200, { seed: 3, start: 1632312000 })];
    let taken = 0;
    for (let i = 0; i < 6000; i++) {
      const bytes = Buffer.from(originals[i % originals.length]!);
      const at = Math.floor(rand() * bytes.length);
      const mutated =
        rand() < 0.3
          ? (() => {
              const copy = Buffer.from(bytes);
              copy[at] = Math.floor(rand() * 256);
              return copy;
            })()
          : Buffer.concat([
              bytes.subarray(0, at),
              Buffer.from(pieces[Math.floor(rand() * pieces.length)]!),
              bytes.subarray(at + (rand() < 0.5 ? 1 : 0)),
            ]);
      if (agrees(mutated)) taken++;
    }
    // Damage inside a body or an agent string leaves a valid record: some must be taken.
    assert.ok(taken > 100, `only ${taken} damaged lines were still valid records`);
  });
});

describe('a forbidden key spelt with escapes', () => {
  const spellings = ['\\u005f_proto__', '__pr\\u006fto__', '\\u005F\\u005Fproto\\u005f\\u005f', '_\\u005fproto_\\u005f'];
  const base = JSON.parse(sampleLines(1, { seed: 7, start: 1632312000 }).next().value as string) as Record<string, unknown>;
  const json = JSON.stringify(base);
  const cases = spellings.flatMap((key) => [
    { where: 'at the top', line: `${json.slice(0, -1)},"${key}":{"x":1}}` },
    { where: 'nested in an unknown field', line: `${json.slice(0, -1)},"Extra":{"a":[{"${key}":1}]}}` },
  ]);

  for (const { where, line } of cases) {
    it(`is found ${where} by the validator, and the fast path leaves it to it: ${line.slice(json.length - 1, json.length + 40)}`, () => {
      const verdict = classifyLine(Buffer.from(line), { mixed: false, strict: false });
      assert.equal(verdict.kind, 'record');
      if (verdict.kind !== 'record') return;
      assert.equal(verdict.valid, false);
      assert.ok(
        verdict.diagnostics.some((d) => d.code === 'forbidden-key'),
        JSON.stringify(verdict.diagnostics),
      );
      assert.equal(fast(line).taken, false, 'the fast path never takes what the validator refuses');
    });
  }
});
