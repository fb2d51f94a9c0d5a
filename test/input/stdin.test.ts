/**
 * stdin redirected from a regular file is read as a file is (large reads, two buffers in turn),
 * from the offset the file description stands at, as `cat` would. These tests hold it to the
 * contract of every input: each line intact and in order, gzip decoded, bytes counted, and
 * close() ending it after the reads under way with the input marked as not read to its end.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it, type TestContext } from 'node:test';
import { splitLines, type Line } from '../../src/input/lines.js';
import { openStdin } from '../../src/input/stdin.js';
import { fileOfLines } from '../helpers/lines-file.js';

const SPLIT = { maxLineBytes: 4 * 1024 * 1024 };

function openFd(t: TestContext, path: string): number {
  const fd = openSync(path, 'r');
  t.after(() => closeSync(fd));
  return fd;
}

describe('stdin from a regular file', () => {
  it('starts where the file offset stands and delivers every line after it intact, batch by batch', async (t) => {
    const { path, lines } = fileOfLines(3000);
    const fd = openFd(t, path);
    // What a shell did before audit-ship ran (`{ head -c N >/dev/null; audit-ship; } < file`).
    const skipped = Buffer.byteLength(`${lines.slice(0, 100).join('\n')}\n`);
    assert.equal(readSync(fd, Buffer.alloc(skipped), 0, skipped, null), skipped);
    const source = openStdin(fd);
    let n = 100;
    for await (const batch of splitLines(source.chunks(), SPLIT)) {
      // Give the read ahead time to land: it must land in the other buffer, not under this batch.
      await sleep(2);
      for (const line of batch) {
        assert.equal(line.bytes.toString('latin1'), lines[n], `line ${n + 1}`);
        n++;
      }
    }
    assert.equal(n, lines.length);
    assert.equal(source.bytesRead, statSync(path).size - skipped);
    assert.equal(source.exhausted, true);
  });

  it('decodes gzip, and counts the compressed bytes read', async (t) => {
    const { path, lines } = fileOfLines(1500, { gzip: true });
    const source = openStdin(openFd(t, path));
    const seen: string[] = [];
    for await (const batch of splitLines(source.chunks(), SPLIT)) for (const line of batch) seen.push(line.bytes.toString('latin1'));
    assert.equal(seen.length, lines.length);
    assert.ok(
      seen.every((l, i) => l === lines[i]),
      'every line as written',
    );
    assert.equal(source.bytesRead, statSync(path).size);
    assert.equal(source.exhausted, true);
  });

  it('close() ends it after the reads under way: a prefix of the lines, and not read to its end', async (t) => {
    const { path, lines } = fileOfLines(3000);
    const source = openStdin(openFd(t, path));
    const seen: Line[] = [];
    for await (const batch of splitLines(source.chunks(), SPLIT)) {
      source.close!();
      seen.push(...batch);
    }
    assert.ok(seen.length > 0 && seen.length < lines.length, `${seen.length} of ${lines.length} lines before the end`);
    seen.forEach((line, i) => {
      const text = line.bytes.toString('latin1');
      if (line.unterminated) assert.ok(lines[i]!.startsWith(text) && i === seen.length - 1, 'only the last line may be cut');
      else assert.equal(text, lines[i], `line ${i + 1}`);
    });
    assert.ok(source.bytesRead < statSync(path).size);
    assert.equal(source.exhausted, false);
  });
});
