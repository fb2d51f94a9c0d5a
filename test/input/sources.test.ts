/**
 * Plain files are read into two buffers in turn. These tests hold the reader to its contract:
 * lines handed out stay intact while they are worked on, even once the next read has completed,
 * and every byte arrives, in order, whatever the line lengths.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { splitLines } from '../../src/input/lines.js';
import { prng } from '../../src/sample/generate.js';
import { checksAreSlow, openSources } from '../../src/input/open-sources.js';
import { openFileSource, readIdentity, type InputSource } from '../../src/input/sources.js';
import { tempDir } from '../helpers/cli.js';
import { fileOfLines } from '../helpers/lines-file.js';
import { waitFor } from '../helpers/ship-cli.js';

const noProcFds = process.platform === 'linux' ? false : 'open files are listed from /proc/self/fd, which only Linux has';

/** How many descriptors this process holds open on `path`. */
function descriptorsOf(path: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) n++;
    } catch {
      // the listing's own descriptor, closed by now
    }
  }
  return n;
}

/** A file (plain or gzip) opened, then rotated away (renamed) and replaced by another under its name. */
async function replacedAfterOpening(gzip = false): Promise<InputSource> {
  const dir = tempDir();
  const path = join(dir, 'audit.log');
  const write = (text: string) => writeFileSync(path, gzip ? gzipSync(text) : text);
  write('first\n');
  const source = await openFileSource(path);
  renameSync(path, join(dir, 'audit.log.1'));
  write('second\n');
  return source;
}

/** A gzip file of about 1 MB, several reads long: lines of random letters barely compress. */
function randomLettersGzip(): string {
  const rand = prng(11);
  const line = () => Array.from({ length: 1000 }, () => String.fromCharCode(97 + Math.floor(rand() * 26))).join('');
  const path = join(tempDir(), 'letters.log.gz');
  writeFileSync(path, gzipSync(Array.from({ length: 1700 }, line).join('\n')));
  return path;
}

/** Reading `source` fails without a byte read: it is not the file that was opened. */
async function assertRefused(source: InputSource): Promise<void> {
  await assert.rejects(async () => {
    for await (const chunk of source.chunks()) assert.fail(`read ${chunk.length} bytes of the other file`);
  }, /was replaced by another file/);
}

describe('plain file source', () => {
  it('delivers every line intact, and keeps a batch intact while the next read completes', async () => {
    const { path, lines } = fileOfLines(3000);
    const source = await openFileSource(path);
    let n = 0;
    for await (const batch of splitLines(source.chunks(), { maxLineBytes: 4 * 1024 * 1024 })) {
      // Give the read ahead time to land: it must land in the other buffer, not under this batch.
      await sleep(2);
      for (const line of batch) {
        assert.equal(line.number, n + 1);
        assert.equal(line.bytes.toString('latin1'), lines[n], `line ${n + 1}`);
        n++;
      }
    }
    assert.equal(n, lines.length);
    assert.equal(source.bytesRead, source.size);
  });

  it('starts at a resume offset and counts only the bytes after it as read', async () => {
    const { path, lines } = fileOfLines(200);
    const offset = Buffer.byteLength(`${lines.slice(0, 50).join('\n')}\n`);
    const source = await openFileSource(path);
    source.resume = { offset, line: 50 };
    const seen: string[] = [];
    for await (const batch of splitLines(source.chunks(), { maxLineBytes: 4 * 1024 * 1024, resume: source.resume })) {
      for (const line of batch) seen.push(line.bytes.toString('latin1'));
    }
    assert.deepEqual(seen, lines.slice(50));
    assert.equal(source.bytesRead, source.size! - offset);
  });

  it('reads a file that says it is empty to its end, though it gives a page a read (/proc)', async (t) => {
    const proc = '/proc/kallsyms';
    if (!existsSync(proc)) return t.skip(`${proc} is Linux's: not on this system`);
    const source = await openFileSource(proc);
    assert.equal(source.size, 0);
    let bytes = 0;
    for await (const chunk of source.chunks()) bytes += chunk.length;
    assert.ok(bytes > 64 * 1024, `${bytes} bytes read`);
    assert.equal(bytes, readFileSync(proc).length);
    assert.equal(source.exhausted, true);
  });

  it('reads the next file into the same memory, never into the last chunk it delivered', async () => {
    // A backfill of many files made two read buffers a file, which waited for a full collection.
    const dir = tempDir();
    const first = join(dir, 'first.log');
    const second = join(dir, 'second.log');
    writeFileSync(first, 'a'.repeat(600 * 1024));
    writeFileSync(second, 'b'.repeat(600 * 1024));
    const used = new Set<ArrayBufferLike>();
    let last: Buffer | null = null;
    for await (const chunk of (await openFileSource(first)).chunks()) {
      used.add(chunk.buffer);
      last = chunk;
    }
    assert.equal(used.size, 2, 'one file is read into two buffers in turn');
    const next = (await openFileSource(second)).chunks()[Symbol.asyncIterator]();
    const firstOfNext = (await next.next()).value as Buffer;
    assert.ok(used.has(firstOfNext.buffer), 'the next file was read into new memory');
    // The last chunk stays valid until the chunk after the next one is asked for, as within a
    // file: the next file's first read goes into the buffer of the end-of-file read.
    assert.notEqual(firstOfNext.buffer, last!.buffer, "the next file's first read went into the last chunk delivered");
    assert.equal(firstOfNext[0], 0x62);
    await next.return?.(undefined);
  });

  it("keeps no file's bytes from its opening to its turn, and reads its identity then", async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.log');
    writeFileSync(path, `${'x'.repeat(5000)}\n`);
    const source = await openFileSource(path);
    // Every input is opened before the first is read: what each keeps until its turn is all the
    // run holds for its files.
    assert.deepEqual(Object.keys(source.identity!).sort(), ['dev', 'ino']);
    const identity = await readIdentity(source);
    assert.equal(identity!.head.length, 4096);
    assert.equal(identity!.head.toString('latin1'), 'x'.repeat(4096));
    assert.deepEqual({ dev: identity!.dev, ino: identity!.ino }, source.identity);
    // Given with its first bytes (to a worker, by the main thread), it is taken as it is.
    source.identity = identity!;
    assert.equal(await readIdentity(source), identity);
  });

  for (const gzip of [false, true]) {
    const kind = gzip ? 'a gzip file' : 'a file';
    it(`gives no first bytes for ${kind} replaced since it was opened, and the read refuses it`, async () => {
      const source = await replacedAfterOpening(gzip);
      const identity = await readIdentity(source);
      assert.equal(identity!.head.length, 0);
      assert.equal(identity!.ino, source.identity!.ino);
      await assertRefused(source);
    });

    it(`closes ${kind} it reads: at its end, when left early, and when it is refused`, { skip: noProcFds }, async () => {
      const path = gzip ? randomLettersGzip() : fileOfLines(3000).path;
      const whole = await openFileSource(path);
      let chunks = 0;
      for await (const chunk of whole.chunks()) {
        chunks++;
        assert.ok(chunk.length > 0);
        // gunzip runs ahead of its consumer: the file may be read to its end before the last chunks.
        if (!gzip || chunks === 1) assert.equal(descriptorsOf(path), 1, 'open while it is read');
      }
      assert.ok(chunks > 1, 'read in more than one chunk');
      assert.equal(descriptorsOf(path), 0, 'closed at its end');

      const early = await openFileSource(path);
      for await (const chunk of early.chunks()) {
        assert.ok(chunk.length > 0);
        break;
      }
      // gunzip is torn down after the consumer has left; the file with it.
      if (gzip) await waitFor(() => descriptorsOf(path) === 0, 'the file closed once gunzip is torn down');
      assert.equal(descriptorsOf(path), 0, 'closed when left after its first chunk');

      const refused = await replacedAfterOpening(gzip);
      await assertRefused(refused);
      assert.equal(descriptorsOf(refused.name), 0, 'closed when refused');
    });
  }

  it('names a gzip file corrupt in its middle, having delivered what came before, and closes it', { skip: noProcFds }, async () => {
    const path = randomLettersGzip();
    const bytes = readFileSync(path);
    // Deflate blocks of stored-like literals: bytes flipped in the middle break the stream there.
    bytes.fill(0xff, bytes.length >> 1, (bytes.length >> 1) + 64);
    writeFileSync(path, bytes);
    const source = await openFileSource(path);
    let decoded = 0;
    await assert.rejects(
      async () => {
        for await (const chunk of source.chunks()) decoded += chunk.length;
      },
      (error: Error) => error.message.includes(path) && /invalid|incorrect|corrupt/i.test(error.message),
    );
    assert.ok(decoded > 0, 'what came before the damage was delivered');
    await waitFor(() => descriptorsOf(path) === 0, 'the corrupt file closed');
  });

  // Node's zlib drops what its failing step decoded: 89 of 20,000 records before the garbage were
  // never read, and a re-run with --checkpoint stopped at the same place.
  it('delivers every byte before garbage after the last gzip member, then names the garbage', { skip: noProcFds }, async () => {
    const path = randomLettersGzip();
    const members = [readFileSync(path), gzipSync('one more line\n')];
    const text = Buffer.concat([gunzipSync(members[0]!), Buffer.from('one more line\n')]);
    writeFileSync(path, Buffer.concat([...members, Buffer.from('garbage\n')]));
    const source = await openFileSource(path);
    const decoded: Buffer[] = [];
    await assert.rejects(
      async () => {
        for await (const chunk of source.chunks()) decoded.push(Buffer.from(chunk));
      },
      (error: Error) => error.message.includes(path) && /not valid gzip data \(incorrect header check\)/.test(error.message),
    );
    assert.ok(Buffer.concat(decoded).equals(text), `every byte of both members: ${Buffer.concat(decoded).length} of ${text.length}`);
    assert.equal(source.bytesRead, members[0]!.length + members[1]!.length + 8, 'each byte read counted once');
    assert.equal(source.exhausted, false, 'not read to its end');
    await waitFor(() => descriptorsOf(path) === 0, 'the file closed');
  });

  it('names a file removed before its turn', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.log');
    writeFileSync(path, 'line\n');
    const source = await openFileSource(path);
    rmSync(path);
    await assert.rejects(
      async () => {
        for await (const chunk of source.chunks()) assert.fail(`read ${chunk.length} bytes`);
      },
      (error: Error) => error.message.includes(path) && /no such file|ENOENT/i.test(error.message),
    );
  });

  it('opens inputs with calls that block until they prove slow on average, not for a slow first check', () => {
    const spent = (times: number[]) => times.reduce((sum, ms) => sum + ms, 0);
    // The first check compiles what the next ones run: 2.5 ms, then 0.4 to 1.7 (2,000 .gz files).
    const warming = [2.5, 0.4, 1.6, 1.7, ...Array<number>(1996).fill(0.5)];
    for (let n = 1; n <= warming.length; n++) assert.equal(checksAreSlow(spent(warming.slice(0, n)), n), false, `after ${n}`);
    // A disk that makes each check wait 5 ms: the pool from the fourth on.
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => checksAreSlow(5 * n, n)),
      [false, false, false, true],
    );
  });

  for (const [how, slowCheckMs] of [
    ['one after another while the checks are quick', undefined],
    ['several at a time through the thread pool once the checks are slow', -Infinity],
  ] as const) {
    it(`opens many inputs ${how}, in the order given, and reports the first that cannot be opened`, async () => {
      const dir = tempDir();
      const names = Array.from({ length: 60 }, (_, i) => join(dir, `audit-${String(i).padStart(2, '0')}.log`));
      names.forEach((name, i) => writeFileSync(name, `line of ${i}\n`.repeat(i + 1)));
      const sources = await openSources(names, slowCheckMs);
      assert.deepEqual(
        sources.map((s) => [s.name, s.size]),
        names.map((name, i) => [name, `line of ${i}\n`.length * (i + 1)]),
      );
      // Two missing: the earlier one is named, as when they were opened one after another.
      const missing = [...names];
      missing[41] = join(dir, 'gone-41.log');
      missing[17] = join(dir, 'gone-17.log');
      await assert.rejects(
        openSources(missing, slowCheckMs),
        (error: Error) => error.message.includes('gone-17.log') && !error.message.includes('gone-41'),
      );
    });
  }
});
