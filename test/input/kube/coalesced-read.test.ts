/**
 * Reading a child's stdout in few, large reads (src/input/kube/coalesced-read.ts), with a real
 * child process writing to it and a ticker that ticks only when the test says so.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import {
  FULL_READ_BYTES,
  PROMPT_BYTES,
  readCoalesced,
  readTickFor,
  ReadTicker,
  withoutReadAhead,
} from '../../../src/input/kube/coalesced-read.js';
import { waitFor } from '../../helpers/ship-cli.js';

/**
 * A writer driven by its stdin: "N SIZE" writes N pieces of SIZE bytes, each with a write() of its
 * own (fs.writeSync: in the kernel before the next), then says "wrote" on stderr.
 */
const WRITER = `
const { writeSync } = require('node:fs');
let text = '';
process.stdin.setEncoding('utf8').on('data', (d) => {
  text += d;
  for (let nl; (nl = text.indexOf('\\n')) >= 0; text = text.slice(nl + 1)) {
    const [n, size] = text.slice(0, nl).split(' ').map(Number);
    for (let k = 0; k < n; k++) writeSync(1, Buffer.alloc(size, 97 + (k % 26)));
    writeSync(2, 'wrote\\n');
  }
});`;

function startWriter(): ChildProcess {
  return withoutReadAhead(() => spawn(process.execPath, ['-e', WRITER], { stdio: ['pipe', 'pipe', 'pipe'] }));
}

/** Asks the writer for `n` writes of `size` bytes and resolves once they are all in the kernel. */
async function write(child: ChildProcess, n: number, size: number): Promise<void> {
  const wrote = once(child.stderr!, 'data');
  child.stdin!.write(`${n} ${size}\n`);
  await wrote;
}

/** Every event the loop has ready now is handled: a read the kernel could give has been taken. */
function loopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('readCoalesced', () => {
  it('after a small read, reads nothing until the tick, then takes all that gathered in one read', async (t) => {
    const child = startWriter();
    t.after(() => child.kill());
    const ticker = new ReadTicker(3_600_000);
    const takes: Buffer[] = [];
    const done = readCoalesced(
      child.stdout!,
      (chunk) => {
        takes.push(chunk);
        return null;
      },
      ticker,
    );
    await write(child, 1, 100);
    await waitFor(() => takes.length === 1, 'the first read');
    await write(child, 10, 100);
    await loopTurn();
    assert.equal(takes.length, 1, 'ten writes in the kernel, none read before the tick');
    ticker.tick();
    await waitFor(() => takes.length === 2, 'the read after the tick');
    assert.equal(takes[1]!.length, 1000, 'the ten writes in one read');
    child.stdin!.end();
    await once(child, 'exit');
    ticker.tick();
    await done;
    assert.equal(takes.length, 2);
  });

  it('follows a large read with the next at once, without waiting for a tick', async (t) => {
    const child = startWriter();
    t.after(() => child.kill());
    const ticker = new ReadTicker(3_600_000);
    let bytes = 0;
    void readCoalesced(
      child.stdout!,
      (chunk) => {
        bytes += chunk.length;
        return null;
      },
      ticker,
    );
    // Writes of 32 KB, as kubectl copies a backlog: every read is 32 or 64 KB, all of them large.
    assert.ok(32 * 1024 >= PROMPT_BYTES);
    await write(child, 64, 32 * 1024);
    await waitFor(() => bytes === 64 * 32 * 1024, 'all 2 MB read with no tick');
  });

  it('waits for a tick after the first read that follows one, unless that read is full', async (t) => {
    const child = startWriter();
    t.after(() => child.kill());
    const ticker = new ReadTicker(3_600_000);
    const takes: number[] = [];
    void readCoalesced(
      child.stdout!,
      (chunk) => {
        takes.push(chunk.length);
        return null;
      },
      ticker,
    );
    await write(child, 1, 100);
    await waitFor(() => takes.length === 1, 'the first read');
    // Larger than PROMPT_BYTES, smaller than a full read: gathered while waiting, not a sign of a busy stream.
    await write(child, 40, 1000);
    ticker.tick();
    await waitFor(() => takes.length === 2, 'the read after the tick');
    assert.ok(takes[1]! >= PROMPT_BYTES && takes[1]! < FULL_READ_BYTES);
    await write(child, 1, 100);
    await loopTurn();
    assert.equal(takes.length, 2, 'no read before the next tick');
    ticker.tick();
    await waitFor(() => takes.length === 3, 'the read after the second tick');
    // 96 KB gathered: the read after the tick is full, and the rest follows without one.
    await write(child, 3, 32 * 1024);
    ticker.tick();
    await waitFor(() => takes.slice(3).reduce((n, b) => n + b, 0) === 3 * 32 * 1024, 'all 96 KB with one tick');
    assert.equal(takes[3], FULL_READ_BYTES);
  });

  it('stops reading while the consumer has no room, and goes on once it has', async (t) => {
    const child = startWriter();
    t.after(() => child.kill());
    let bytes = 0;
    let full = true;
    let room: () => void = () => {};
    const done = readCoalesced(
      child.stdout!,
      (chunk) => {
        bytes += chunk.length;
        return full ? new Promise<void>((resolve) => (room = resolve)) : null;
      },
      new ReadTicker(1),
    );
    // 4 MB: far more than the kernel's buffers and the one read held ahead.
    let finished = false;
    const written = write(child, 128, 32 * 1024).then(() => (finished = true));
    await waitFor(() => bytes > 0, 'the first read');
    for (let i = 0; i < 20; i++) await loopTurn();
    assert.ok(bytes <= FULL_READ_BYTES, `one read taken while there is no room, not ${bytes} bytes`);
    assert.equal(finished, false, 'the writer waits');
    full = false;
    room();
    await written;
    child.stdin!.end();
    await done;
    assert.equal(bytes, 128 * 32 * 1024);
  });

  it('reads a stream that has no pipe under it (a PassThrough) as it comes, each write a take', async () => {
    const stream = new PassThrough();
    const takes: string[] = [];
    const done = readCoalesced(
      stream,
      (chunk) => {
        takes.push(chunk.toString());
        return null;
      },
      new ReadTicker(3_600_000),
    );
    stream.write('a');
    stream.write('b');
    stream.end('c');
    await done;
    assert.deepEqual(takes, ['a', 'b', 'c']);
  });

  it('ticks at a quarter of --flush-interval, at most 250 ms', () => {
    assert.equal(readTickFor(1000), 250);
    assert.equal(readTickFor(50), 12);
    assert.equal(readTickFor(10_000), 250);
    assert.equal(readTickFor(1), 1);
  });
});
