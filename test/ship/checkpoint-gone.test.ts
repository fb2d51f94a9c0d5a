/**
 * The checkpoint forgets files that are gone: a cron job over a directory of rotated logs must not
 * carry an entry for every file ever shipped. Forgotten only when nothing is at the name, its
 * directory is there on the file's device, and no input of the run was the file under another
 * name. Real files, and the built CLI into `audit-ship receive`.
 */
import assert from 'node:assert/strict';
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { EXIT } from '../../src/cli/exit.js';
import { Checkpoint, markOf, type FileProgress } from '../../src/ship/checkpoint.js';
import { goneNotes } from '../../src/ship/checkpoint-gone.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { idOf, lines } from '../helpers/ledger.js';
import { cronJob } from '../helpers/checkpoint.js';
import { receivers } from '../helpers/receive-cli.js';

const receiver = receivers();

const entries = (checkpoint: string) => Object.keys((JSON.parse(readFileSync(checkpoint, 'utf8')) as { files: object }).files).sort();

/** A file of `text` at `path`, and its mark as the checkpoint takes it (its real device and inode). */
function file(path: string, text: string) {
  writeFileSync(path, text);
  const { dev, ino } = statSync(path);
  return markOf({ dev, ino, head: Buffer.from(text.slice(0, 4096)) });
}

/** A log directory, and a checkpoint (at `path`) loaded for a first run that records what it holds. */
async function firstRun(): Promise<{ dir: string; path: string; first: Checkpoint }> {
  const path = join(tempDir(), 'cp.json');
  return { dir: tempDir('audit-ship-gone-'), path, first: await Checkpoint.load(path) };
}

describe('Checkpoint.forgetGone', () => {
  const done = (size: number): FileProgress => ({ offset: size, line: 1, size, done: true });

  it('forgets a deleted file, shipped or not, and keeps every entry it cannot be sure of', async (t) => {
    const { dir, path, first } = await firstRun();
    const kept = file(join(dir, 'kept.log'), 'kept\n');
    first.record(join(dir, 'kept.log'), done(5), kept);
    first.record(join(dir, 'shipped.log'), done(5), file(join(dir, 'shipped.log'), 'ship\n'));
    const half = file(join(dir, 'half.log'), 'one\ntwo\n');
    first.record(join(dir, 'half.log'), { offset: 4, line: 1, size: 8, done: false }, half);
    // Entries that say nothing for sure: no device (an older checkpoint), a directory that is not
    // there (a volume not mounted), a directory on another device than the file was.
    first.record(join(dir, 'old-format.log'), done(5));
    first.record(join(dir, 'unmounted', 'a.log'), done(5), { ...kept, ino: kept.ino + 1 });
    first.record(join(dir, 'elsewhere.log'), done(5), { ...kept, dev: kept.dev + 1 });
    await first.close();
    rmSync(join(dir, 'shipped.log'));
    rmSync(join(dir, 'half.log'));

    // The next run, given none of those files.
    const checkpoint = await Checkpoint.load(path);
    t.after(() => checkpoint.close());
    const gone = checkpoint.forgetGone();
    assert.deepEqual(gone.map(([name]) => name).sort(), [join(dir, 'half.log'), join(dir, 'shipped.log')]);
    assert.deepEqual(goneNotes(gone), {
      unread: [`${join(dir, 'half.log')} is gone, shipped only to line 1 (byte 4 of 8): the rest of it was never read`],
      forgot: 'forgot 2 files no longer on disk',
    });
    assert.deepEqual(checkpoint.forgetGone(), [], 'nothing more to forget');
    await checkpoint.saved();
    assert.deepEqual(entries(path), [
      join(dir, 'elsewhere.log'),
      join(dir, 'kept.log'),
      join(dir, 'old-format.log'),
      join(dir, 'unmounted', 'a.log'),
    ]);
  });

  it('keeps the entry of a file this run looked up, though nothing is at its name any more', async (t) => {
    const { dir, path, first } = await firstRun();
    const mark = file(join(dir, 'audit.log'), 'first line\n');
    first.record(join(dir, 'audit.log'), done(11), mark);
    await first.close();

    renameSync(join(dir, 'audit.log'), join(dir, 'audit.log.1'));
    const second = await Checkpoint.load(path);
    t.after(() => second.close());
    const { dev, ino } = statSync(join(dir, 'audit.log.1'));
    const point = second.resumePoint(join(dir, 'audit.log.1'), { size: 11, identity: { dev, ino, head: Buffer.from('first line\n') } });
    assert.equal(point.kind, 'done', 'found renamed');
    assert.deepEqual(second.forgetGone(), []);
  });
});

describe('ship --checkpoint over a directory whose old files are deleted', () => {
  it('forgets the deleted files and ships every record once', async () => {
    const r = await receiver();
    const { dir, checkpoint, args } = cronJob(r.port);
    const days = [lines(20, 831), lines(30, 832), lines(25, 833)];
    writeFileSync(join(dir, 'audit.log-20210920'), days[0]!.join(''));
    writeFileSync(join(dir, 'audit.log-20210921'), days[1]!.join(''));
    assert.equal((await runCli(args)).code, EXIT.ok);
    assert.deepEqual(entries(checkpoint), [join(dir, 'audit.log-20210920'), join(dir, 'audit.log-20210921')]);

    // The next day: the oldest file is deleted, a new one is there.
    rmSync(join(dir, 'audit.log-20210920'));
    writeFileSync(join(dir, 'audit.log-20210922'), days[2]!.join(''));
    const second = await runCli(args);
    assert.equal(second.code, EXIT.ok, second.stderr);
    assert.match(second.stderr, /audit-ship: checkpoint: forgot 1 file no longer on disk/);
    assert.deepEqual(entries(checkpoint), [join(dir, 'audit.log-20210921'), join(dir, 'audit.log-20210922')]);
    assert.deepEqual(r.requestIds().sort(), days.flat().map(idOf).sort(), 'every record once');
  });

  it('keeps the entry of a file rotated away from its name while no other holds its place, and ships it once', async () => {
    const r = await receiver();
    const { dir, checkpoint, args } = cronJob(r.port);
    const records = lines(30, 834);
    writeFileSync(join(dir, 'audit.log'), records.join(''));
    assert.equal((await runCli(args)).code, EXIT.ok);

    // Rotated by rename; the new audit.log is not there yet. Found renamed, the file is recorded
    // under its new name as well, and the old name's entry is kept through this run.
    renameSync(join(dir, 'audit.log'), join(dir, 'audit.log.1'));
    const second = await runCli(args);
    assert.equal(second.code, EXIT.ok, second.stderr);
    assert.match(second.stderr, /audit\.log\.1: is .*audit\.log renamed .*already shipped/);
    assert.doesNotMatch(second.stderr, /forgot/);
    assert.deepEqual(entries(checkpoint), [join(dir, 'audit.log'), join(dir, 'audit.log.1')]);

    // The next run knows it by its new name; the old name's entry, of no use now, is forgotten.
    const third = await runCli(args);
    assert.equal(third.code, EXIT.ok, third.stderr);
    assert.match(third.stderr, /\n1 file already shipped to the end \(checkpoint\), skipped\n/);
    assert.match(third.stderr, /forgot 1 file no longer on disk/);
    assert.deepEqual(entries(checkpoint), [join(dir, 'audit.log.1')]);
    assert.equal(r.events().length, records.length, 'shipped once');
  });

  it('says which deleted file was never shipped to its end', async () => {
    const r = await receiver();
    const { dir, checkpoint, args } = cronJob(r.port);
    // A rotated file cut short (a copy interrupted): the lines before the cut are shipped, then exit 4.
    const whole = gzipSync(lines(2000, 835).join(''));
    writeFileSync(join(dir, 'audit.log.1.gz'), whole.subarray(0, whole.length >> 1));
    writeFileSync(join(dir, 'audit.log'), lines(10, 836).join(''));
    const first = await runCli(args);
    assert.equal(first.code, EXIT.inputUnread, first.stderr);
    const entry = (JSON.parse(readFileSync(checkpoint, 'utf8')) as { files: Record<string, FileProgress> }).files[
      join(dir, 'audit.log.1.gz')
    ]!;
    assert.equal(entry.done, false);
    assert.ok(entry.line > 0 && entry.line < 2000, `shipped part of it: ${entry.line} lines`);

    rmSync(join(dir, 'audit.log.1.gz'));
    const second = await runCli(args);
    assert.equal(second.code, EXIT.ok, second.stderr);
    assert.ok(
      second.stderr.includes(`checkpoint: ${join(dir, 'audit.log.1.gz')} is gone, shipped only to line ${entry.line} `),
      second.stderr,
    );
    assert.deepEqual(entries(checkpoint), [join(dir, 'audit.log')]);
    assert.equal(r.events().length, entry.line + 10);
  });
});
