/**
 * stdin redirected from a regular file is read as a file is (large reads, two buffers in turn),
 * from the offset the file description stands at, as `cat` would; a pipe is read into two
 * buffers in turn through its socket. These tests hold both to the contract of every input: each
 * line intact and in order, gzip decoded, bytes counted, and close() ending it after the reads
 * under way with the input marked as not read to its end.
 */
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it, type TestContext } from 'node:test';
import { splitLines, type Line } from '../../src/input/lines.js';
import type { InputSource } from '../../src/input/sources.js';
import { openStdin } from '../../src/input/stdin.js';
import { tempDir } from '../helpers/cli.js';
import { fileOfLines } from '../helpers/lines-file.js';

const SPLIT = { maxLineBytes: 4 * 1024 * 1024 };

/**
 * Reads `source` to its end, pausing `pauseMs` after each batch so that a read ahead lands while
 * the batch is still in use, and checks each line against `lines` from `first` on; returns how
 * many batches came.
 */
async function readExpecting(source: InputSource, lines: readonly string[], first: number, pauseMs: number): Promise<number> {
  let n = first;
  let batches = 0;
  for await (const batch of splitLines(source.chunks(), SPLIT)) {
    await sleep(pauseMs);
    batches++;
    for (const line of batch) {
      assert.equal(line.bytes.toString('latin1'), lines[n], `line ${n + 1}`);
      n++;
    }
  }
  assert.equal(n, lines.length, 'every line, then the end');
  return batches;
}

/** Closes `source` at its first batch: what came must be a prefix of `lines` (the last one possibly cut) and the input not read to its end. */
async function closeMidway(source: InputSource, lines: readonly string[], size: number): Promise<number> {
  const seen: Line[] = [];
  for await (const batch of splitLines(source.chunks(), SPLIT)) {
    source.close!();
    seen.push(...batch);
  }
  assert.ok(seen.length < lines.length, `${seen.length} of ${lines.length} lines before the end`);
  seen.forEach((line, i) => {
    const text = line.bytes.toString('latin1');
    if (line.unterminated) assert.ok(lines[i]!.startsWith(text) && i === seen.length - 1, 'only the last line may be cut');
    else assert.equal(text, lines[i], `line ${i + 1}`);
  });
  assert.ok(source.bytesRead < size);
  assert.equal(source.exhausted, false);
  return seen.length;
}

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
    // The read ahead must land in the other buffer, not under the batch in use.
    await readExpecting(source, lines, 100, 2);
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
    const seen = await closeMidway(openStdin(openFd(t, path)), lines, statSync(path).size);
    assert.ok(seen > 0, 'the first read brought lines');
  });
});

/**
 * A real pipe (a FIFO) that `sh -c script` writes into as its stdout; the read end as an fd, as a
 * shell's `|` gives it. The fd then belongs to the input, which closes it.
 */
function pipeFrom(t: TestContext, script: string, ...args: string[]): number {
  const fifo = join(tempDir(), 'pipe');
  execFileSync('mkfifo', [fifo]);
  const writer = spawn('sh', ['-c', `exec >"$0"; ${script}`, fifo, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  t.after(() => writer.kill('SIGKILL'));
  // Blocks until the writer has opened its end, which it does at once.
  return openSync(fifo, 'r');
}

/** Writes the file named by its argument to stdout 1 KiB at a time, a millisecond apart. */
const TRICKLE = `
  const data = require("node:fs").readFileSync(process.argv[1]);
  let at = 0;
  const next = () => { if (at < data.length) process.stdout.write(data.subarray(at, (at += 1024)), () => setTimeout(next, 1)); };
  next();
`;

describe('stdin from a pipe', () => {
  it('delivers every line intact and in order while reading one chunk ahead, and counts every byte', async (t) => {
    const { path, lines } = fileOfLines(3000);
    const source = openStdin(pipeFrom(t, 'cat "$1"', path));
    // The read ahead must land in the other buffer, not under the batch in use.
    const batches = await readExpecting(source, lines, 0, 2);
    assert.ok(batches > 100, `the pipe was read in many reads (${batches})`);
    assert.equal(source.bytesRead, statSync(path).size);
    assert.equal(source.exhausted, true);
  });

  it('decodes gzip, read into memory of its own, and counts the compressed bytes read', async (t) => {
    const { path, lines } = fileOfLines(1500, { gzip: true });
    // Small writes, one at a time, make small reads, which zlib queues while the consumer is slow:
    // memory read into again while queued would change what it inflates.
    const source = openStdin(pipeFrom(t, `exec "$1" -e '${TRICKLE}' "$2"`, process.execPath, path));
    await readExpecting(source, lines, 0, 5);
    assert.equal(source.bytesRead, statSync(path).size);
    assert.equal(source.exhausted, true);
  });

  it('close() while the writer idles ends it with every line written so far, not read to its end', async (t) => {
    const { path, lines } = fileOfLines(300);
    const source = openStdin(pipeFrom(t, 'cat "$1"; exec sleep 60', path));
    const seen: string[] = [];
    for await (const batch of splitLines(source.chunks(), SPLIT)) {
      for (const line of batch) seen.push(line.bytes.toString('latin1'));
      // Every line is in: the pipe stays open and idle, and only close() can end the input.
      if (seen.length === lines.length) source.close!();
    }
    assert.deepEqual(seen, lines);
    assert.equal(source.bytesRead, statSync(path).size);
    assert.equal(source.exhausted, false, 'the writer had not ended the input');
  });

  it('close() in mid-stream ends it after the chunk already read: a prefix of the lines', async (t) => {
    const { path, lines } = fileOfLines(3000);
    await closeMidway(openStdin(pipeFrom(t, 'cat "$1"', path)), lines, statSync(path).size);
  });
});
