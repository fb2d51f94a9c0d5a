/**
 * --checkpoint as the CLI writes it: the file says how far each input is spooled, a write that
 * fails stops the reading with exit 4 and the path in words (no input left open behind it), one
 * that fails once every input was read is not hidden behind a "complete", and a re-run once it can
 * be written delivers every record.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { EXIT } from '../../src/cli/exit.js';
import { Checkpoint, markOf, type FileProgress } from '../../src/ship/checkpoint.js';
import { LIST_OPEN_FILES, openFiles, runCli, tempDir } from '../helpers/cli.js';
import { assertAccounted, Ledger, lines } from '../helpers/ledger.js';
import { receivers } from '../helpers/receive-cli.js';
import { jsonSummary } from '../helpers/ship-cli.js';

const receiver = receivers();
const noProcFds = process.platform === 'linux' ? null : 'the open files are listed from /proc/self/fd, which only Linux has';
if (noProcFds) process.stdout.write(`# skipping the open-file checks: ${noProcFds}\n`);

/**
 * A file of `records` audit lines and a checkpoint path whose every write fails: the checkpoint is
 * written to FILE.tmp and renamed, and a directory stands in that place.
 */
function unwritableCheckpoint(records: number, seed: number): { ledger: Ledger; input: string; checkpoint: string } {
  const dir = tempDir();
  const ledger = new Ledger(records, seed);
  const input = join(dir, 'audit.jsonl');
  writeFileSync(input, ledger.text());
  const checkpoint = join(dir, 'cp.json');
  mkdirSync(`${checkpoint}.tmp`);
  return { ledger, input, checkpoint };
}

interface CheckpointFile {
  files: Record<string, FileProgress>;
}

describe('--checkpoint', () => {
  it('says, once a run is complete, that every file was shipped to its end', async () => {
    const dir = tempDir();
    const files = [new Ledger(2000, 401), new Ledger(1200, 402)].map((ledger, i) => {
      const file = join(dir, `${i}.jsonl`);
      writeFileSync(file, ledger.text());
      return { file, ledger };
    });
    const r = await receiver();
    const checkpoint = join(dir, 'cp.json');
    const args = ['--port', String(r.port), '--chunk-records', '100', '--checkpoint', checkpoint, ...files.map((f) => f.file)];
    const res = await runCli(args);
    assert.equal(res.code, EXIT.ok, res.stderr);
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as CheckpointFile;
    for (const { file, ledger } of files) {
      const size = statSync(file).size;
      const { offset, line, size: sizeThen, done } = saved.files[file]!;
      assert.deepEqual({ offset, line, size: sizeThen, done }, { offset: size, line: ledger.ids.length, size, done: true }, file);
    }
    const again = await runCli(args);
    assert.equal(again.code, EXIT.ok, again.stderr);
    assert.equal(r.requestIds().length, 3200, 'the re-run found both files shipped and sent nothing');
  });

  it('that cannot be written stops reading with exit 4 and its path; the input is closed; a re-run delivers every record', async () => {
    const { ledger, input, checkpoint } = unwritableCheckpoint(3000, 403);
    const r = await receiver();
    const args = ['--port', String(r.port), '--chunk-records', '500', '--checkpoint', checkpoint, '--summary', 'json', input];
    const failed = await runCli(args, noProcFds ? {} : { env: { NODE_OPTIONS: LIST_OPEN_FILES } });
    assert.equal(failed.code, EXIT.inputUnread, failed.stderr);
    assert.match(failed.stderr, new RegExp(`cannot write the checkpoint ${checkpoint}: is a directory`));
    assert.match(failed.stderr, /run the same command again to resume from the checkpoint/);
    assertAccounted(jsonSummary(failed.stderr));
    if (!noProcFds)
      assert.deepEqual(
        openFiles(failed.stderr).filter((f) => f === input),
        [],
        'the input file was closed by the run',
      );

    rmSync(`${checkpoint}.tmp`, { recursive: true });
    const again = await runCli(args);
    assert.equal(again.code, EXIT.ok, again.stderr);
    ledger.assertComplete(r.requestIds());
  });

  it('that cannot be written by a run that read and delivered everything: exit 1 and why, not "complete"', async () => {
    const { ledger, input, checkpoint } = unwritableCheckpoint(100, 404);
    const r = await receiver();
    const res = await runCli(['--port', String(r.port), '--checkpoint', checkpoint, '--summary', 'json', input]);
    assert.equal(res.code, EXIT.failure, res.stderr);
    assert.match(
      res.stderr,
      new RegExp(
        `cannot write the checkpoint ${checkpoint}: is a directory: every input was read and spooled, but the checkpoint is behind`,
      ),
    );
    assert.doesNotMatch(res.stderr, /complete: every input read/);
    const s = jsonSummary(res.stderr);
    assert.equal(s.exitCode, EXIT.failure);
    assert.equal(s.recordsAcked, 100);
    ledger.assertComplete(r.requestIds());
  });
});

describe('Checkpoint', () => {
  const identity = (ino: number, head: string) => ({ dev: 9, ino, head: Buffer.from(head) });
  const mark = (ino: number, head: string) => markOf(identity(ino, head));

  it('writes its state as JSON indented by one space, and reads it back', async (t) => {
    const path = join(tempDir(), 'cp.json');
    const checkpoint = await Checkpoint.load(path);
    t.after(() => checkpoint.close());
    checkpoint.record('/logs/a', { offset: 10, line: 1, size: 20, done: false }, mark(1, 'first line'));
    checkpoint.record('/logs/"b"', { offset: 5, line: 1, size: 5, done: true });
    // Enough entries for several blocks of the text kept between replaces (src/ship/checkpoint-text.ts).
    for (let i = 0; i < 150; i++) checkpoint.record(`/logs/old-${i}`, { offset: i, line: i, size: i, done: true });
    await checkpoint.saved();
    checkpoint.record('/logs/a', { offset: 20, line: 2, size: 20, done: true }, mark(1, 'first line'));
    checkpoint.record('/logs/old-100', { offset: 1, line: 1, size: 1, done: false });
    await checkpoint.saved();
    const text = readFileSync(path, 'utf8');
    const state = JSON.parse(text) as CheckpointFile & { version: number };
    assert.equal(text, `${JSON.stringify(state, null, 1)}\n`);
    assert.deepEqual(Object.keys(state.files), ['/logs/a', '/logs/"b"', ...Array.from({ length: 150 }, (_, i) => `/logs/old-${i}`)]);
    assert.deepEqual(state.files['/logs/old-100'], { offset: 1, line: 1, size: 1, done: false });
    assert.deepEqual(state.files['/logs/old-99'], { offset: 99, line: 99, size: 99, done: true });
    assert.deepEqual(state.files['/logs/a'], {
      offset: 20,
      line: 2,
      size: 20,
      done: true,
      dev: 9,
      ino: 1,
      fingerprint: createHash('sha256').update('first line').digest('hex'),
      fingerprintBytes: 10,
    });
    await checkpoint.close();
    const again = await Checkpoint.load(path);
    t.after(() => again.close());
    assert.deepEqual(again.resumePoint('/logs/a', { size: 20, identity: identity(1, 'first line') }), { kind: 'done' });
  });

  it('that is empty, zeros alone or foreign is refused in words, no raw control byte echoed', async () => {
    const dir = tempDir();
    for (const [name, bytes, message] of [
      [
        'empty.json',
        Buffer.alloc(0),
        /the checkpoint \S+empty\.json is empty \(cut or zeroed by a crash\?\); remove it to start over, which reads every input again from its start$/,
      ],
      [
        'zeroed.json',
        Buffer.alloc(500),
        /the checkpoint \S+zeroed\.json holds 500 NUL bytes and nothing else \(cut or zeroed by a crash\?\)/,
      ],
      [
        'foreign.json',
        Buffer.from('\x01\x02{'),
        /the checkpoint \S+foreign\.json is not an audit-ship checkpoint \(.*"\?\?\{".*\); remove it to start over/,
      ],
      ['other.json', Buffer.from('{"version":2}'), /is not an audit-ship checkpoint \(unknown layout\)/],
    ] as const) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      await assert.rejects(Checkpoint.load(path), (error: Error) => {
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /\p{Cc}/u);
        return true;
      });
    }
  });

  it('finds a renamed file by its device, inode and first bytes among many entries', async (t) => {
    const path = join(tempDir(), 'cp.json');
    const checkpoint = await Checkpoint.load(path);
    for (let i = 0; i < 500; i++) checkpoint.record(`/logs/old-${i}`, { offset: 1, line: 1, size: 1, done: true }, mark(1000 + i, `x${i}`));
    checkpoint.record('/logs/audit.log', { offset: 7, line: 3, size: 9, done: false }, mark(42, 'first line'));
    // The same inode with other first bytes (an inode reused by a new file) is not the file.
    checkpoint.record('/logs/gone.log', { offset: 2, line: 1, size: 2, done: false }, mark(43, 'other'));
    await checkpoint.saved();
    await checkpoint.close();

    const loaded = await Checkpoint.load(path);
    t.after(() => loaded.close());
    const renamed = loaded.resumePoint('/logs/audit.log.1', { size: 9, identity: identity(42, 'first line') });
    assert.equal(renamed.kind, 'resume');
    assert.match(renamed.reason ?? '', /is \/logs\/audit\.log renamed/);
    assert.deepEqual(loaded.resumePoint('/logs/new.log', { size: 9, identity: identity(43, 'first line') }), { kind: 'start' });

    // Recorded again under another inode, the entry is no longer found under the old one.
    loaded.record('/logs/audit.log', { offset: 7, line: 3, size: 9, done: false }, mark(44, 'first line'));
    assert.deepEqual(loaded.resumePoint('/logs/audit.log.2', { size: 9, identity: identity(42, 'first line') }), { kind: 'start' });
    assert.equal(loaded.resumePoint('/logs/audit.log.2', { size: 9, identity: identity(44, 'first line') }).kind, 'resume');
  });

  it('knows a file copied or compressed under another name by its first 4 KiB, and a shorter start by nothing but its inode', async (t) => {
    const checkpoint = await Checkpoint.load(join(tempDir(), 'cp.json'));
    t.after(() => checkpoint.close());
    const text = Buffer.from(lines(40, 850).join(''));
    const at = text.indexOf('\n', 5000) + 1;
    checkpoint.record(
      '/logs/audit.log',
      { offset: at, line: 6, size: at, done: false },
      markOf({ dev: 9, ino: 1, head: text.subarray(0, 4096) }),
    );

    const copy = checkpoint.resumePoint('/logs/audit.log.1', {
      size: text.length,
      identity: { dev: 9, ino: 2, head: text.subarray(0, 4096) },
    });
    assert.equal(copy.kind, 'resume');
    assert.deepEqual(
      [copy.kind === 'resume' && copy.offset, copy.reason],
      [at, 'is a copy of /logs/audit.log (same first 4 KiB): resuming after line 6'],
    );

    const gz = gzipSync(text);
    const compressed = checkpoint.resumePoint('/logs/audit.log.1.gz', {
      size: gz.length,
      identity: { dev: 9, ino: 3, head: gz.subarray(0, 4096) },
    });
    assert.deepEqual(compressed, {
      kind: 'resume',
      offset: at,
      line: 6,
      reason: 'is /logs/audit.log compressed (same first 4 KiB once decompressed): resuming after line 6',
    });

    // Under 4 KiB, or 4 KiB with no line in it, the first bytes alone say too little.
    const short = Buffer.from(lines(1, 851).join(''));
    checkpoint.record(
      '/logs/small.log',
      { offset: short.length, line: 1, size: short.length, done: true },
      markOf({ dev: 9, ino: 4, head: short }),
    );
    assert.deepEqual(checkpoint.resumePoint('/logs/small-copy.log', { size: short.length, identity: { dev: 9, ino: 5, head: short } }), {
      kind: 'start',
    });
    const blank = Buffer.alloc(4096, 0x20);
    checkpoint.record('/logs/blank.log', { offset: 4096, line: 0, size: 4096, done: true }, markOf({ dev: 9, ino: 6, head: blank }));
    assert.deepEqual(checkpoint.resumePoint('/logs/blank-copy.log', { size: 4096, identity: { dev: 9, ino: 7, head: blank } }), {
      kind: 'start',
    });
  });
});
