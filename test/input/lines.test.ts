import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { describe, it } from 'node:test';
import { SplitLine, splitLines, type Line } from '../../src/input/lines.js';
import { splitAtPadding } from '../../src/input/nul-padding.js';
import { prng } from '../../src/sample/generate.js';

async function* chunks(...parts: (string | Buffer)[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.isBuffer(p) ? p : Buffer.from(p);
}

async function collect(maxLineBytes: number, ...parts: (string | Buffer)[]): Promise<Line[]> {
  const lines: Line[] = [];
  for await (const batch of splitLines(chunks(...parts), { maxLineBytes })) lines.push(...batch);
  return lines;
}

const texts = (lines: Line[]) => lines.map((l) => l.bytes.toString());

describe('splitLines', () => {
  it('numbers lines from 1, blank ones included', async () => {
    const lines = await collect(100, 'a\n\nb\n');
    assert.deepEqual(
      lines.map((l) => [l.number, l.bytes.toString()]),
      [
        [1, 'a'],
        [2, ''],
        [3, 'b'],
      ],
    );
  });

  it('joins a line split across chunks, and keeps a last line without newline', async () => {
    assert.deepEqual(texts(await collect(100, 'ab', 'cd\nef', 'g')), ['abcd', 'efg']);
  });

  it('strips CRLF, including a CR at the end of one chunk and LF at the start of the next', async () => {
    assert.deepEqual(texts(await collect(100, 'a\r\nb\r', '\nc\r\n')), ['a', 'b', 'c']);
  });

  it('strips a UTF-8 BOM from the first line only', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    assert.deepEqual(texts(await collect(100, Buffer.concat([bom, Buffer.from('a\n'), bom, Buffer.from('b\n')]))), ['a', '\ufeffb']);
  });

  it('reports a line over the limit with its full length, without buffering it, and goes on', async () => {
    const long = 'x'.repeat(50);
    const lines = await collect(10, 'ok\n', long.slice(0, 20), long.slice(20), '\nafter\n');
    assert.deepEqual(
      lines.map((l) => [l.number, l.bytes.toString(), l.overLimit]),
      [
        [1, 'ok', 0],
        [2, '', 50],
        [3, 'after', 0],
      ],
    );
  });

  it('takes a line of exactly the limit, its CR not counted', async () => {
    const lines = await collect(4, 'abcd\r', '\nabcde\n');
    assert.deepEqual(
      lines.map((l) => [l.bytes.toString(), l.overLimit]),
      [
        ['abcd', 0],
        ['', 5],
      ],
    );
  });

  it('reports an over-long last line that has no newline', async () => {
    const lines = await collect(3, 'abcdef');
    assert.deepEqual(
      lines.map((l) => l.overLimit),
      [6],
    );
  });

  // A crash can leave megabytes of zeros between the record it cut and the next one written: the
  // line they make is kept within the limit by cutting its runs to PADDING_RUN NULs, so that the
  // record after them is not lost as an over-long line.
  it('keeps a line that zero padding takes over the limit, the NULs it dropped counted, wherever its chunks end', async () => {
    const text = Buffer.concat([Buffer.from('ok\n{"cut'), Buffer.alloc(300), Buffer.from('{"next":1}\nafter\n')]);
    for (const size of [1, 7, 63, 64, 65, 100, 101, 299, text.length]) {
      const parts: Buffer[] = [];
      for (let at = 0; at < text.length; at += size) parts.push(text.subarray(at, at + size));
      const lines = await collect(100, ...parts);
      assert.deepEqual(
        lines.map((l) => [l.number, l.overLimit, l.end]),
        [
          [1, 0, 3],
          [2, 0, 319],
          [3, 0, 325],
        ],
        `chunks of ${size} bytes`,
      );
      assert.ok(lines[1]!.bytes.length <= 100);
      const padded = splitAtPadding(lines[1]!);
      assert.deepEqual(texts(padded!.parts), ['{"cut', '{"next":1}'], `chunks of ${size} bytes`);
      assert.equal(padded!.nuls, 300, `chunks of ${size} bytes: every NUL counted`);
      assert.deepEqual(texts([lines[0]!, lines[2]!]), ['ok', 'after']);
    }
  });

  it('reports a line over the limit even without its zero padding at its full length, NULs included', async () => {
    const lines = await collect(100, 'x'.repeat(90), Buffer.alloc(300), 'y'.repeat(20), '\nok\n');
    assert.deepEqual(
      lines.map((l) => [l.bytes.toString(), l.overLimit, l.squeezed ?? 0]),
      [
        ['', 410, 0],
        ['ok', 0, 0],
      ],
    );
    const whole = await collect(100, Buffer.concat([Buffer.from('x'.repeat(90)), Buffer.alloc(300), Buffer.from('y'.repeat(20) + '\n')]));
    assert.deepEqual(
      whole.map((l) => l.overLimit),
      [410],
      'read in one chunk',
    );
  });

  it('cuts any stream the same wherever its chunks end, and says UTF-8 only of lines that are', async () => {
    const rand = prng(77);
    const pieces = ['a', '{"k":"v"}', 'é', '漢', '😀', '\r', '\n', '\n', '\r\n', ' '];
    const broken = [Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xe6, 0xbc])];
    let [known, unknown] = [0, 0];
    for (let round = 0; round < 300; round++) {
      // A stream in three has an invalid byte here and there.
      const damaged = rand() < 0.3;
      const stream = Buffer.concat(
        Array.from({ length: 1 + Math.floor(rand() * 200) }, () =>
          damaged && rand() < 0.05 ? broken[Math.floor(rand() * broken.length)]! : Buffer.from(pieces[Math.floor(rand() * pieces.length)]!),
        ),
      );
      const cuts = [
        0,
        ...Array.from({ length: Math.floor(rand() * 6) }, () => Math.floor(rand() * stream.length)).sort((a, b) => a - b),
        stream.length,
      ];
      const parts = cuts.slice(1).map((cut, i) => stream.subarray(cuts[i], cut));
      const whole = await collect(1000, stream);
      const lines = await collect(1000, ...parts);
      assert.deepEqual(
        lines.map((l) => [l.number, l.end, l.overLimit, l.bytes.toString('hex')]),
        whole.map((l) => [l.number, l.end, l.overLimit, l.bytes.toString('hex')]),
      );
      for (const line of lines) {
        assert.ok(line instanceof SplitLine);
        if (line.utf8) {
          known++;
          assert.ok(isUtf8(line.bytes), `said to be UTF-8: ${line.bytes.toString('hex')}`);
        } else unknown++;
      }
    }
    // Lines of a chunk that is all valid text are known without a check of their own.
    assert.ok(known > 1000 && unknown > 1000, `${known} lines known to be UTF-8, ${unknown} not`);
  });

  it('holds a line as a range of the chunk it was read in', async () => {
    const chunk = Buffer.from('one\ntwo\r\n');
    const [first, second] = (await collect(100, chunk)) as SplitLine[];
    assert.equal(first!.buffer, chunk);
    assert.deepEqual([first!.start, first!.stop, second!.start, second!.stop], [0, 3, 4, 7]);
    assert.equal(second!.bytes.toString(), 'two');
    assert.equal(second!.bytes.buffer, chunk.buffer, 'its bytes are a view, not a copy');
  });
});
