import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitLines, type Line } from '../../src/input/lines.js';

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
});
