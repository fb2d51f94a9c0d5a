/**
 * State files written off the main thread (src/state-file.ts), on real files: changes made while a
 * replace runs are written together, a wait resolves only once the file is as close to the state
 * as asked, and a replace that fails is reported to every wait and every later change.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { FullDiskWait } from '../src/full-disk.js';
import { StateFileWriter } from '../src/state-file.js';
import { tempDir } from './helpers/cli.js';
import { fillDisk, mountTmpfs, tmpfsUnavailable } from './helpers/tmpfs.js';

const skipTmpfs = tmpfsUnavailable('size=64k', 'the full-disk state file test');

/** Until `done()`, looked at every 50 ms. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** A writer of a counter's value, counting the replaces it starts; `eager` false: written on demand. */
function counterFile(path: string, durable = true, eager = true, full?: FullDiskWait) {
  const state = { value: 0, replaces: 0 };
  const writer = new StateFileWriter(
    path,
    () => {
      state.replaces++;
      return `${state.value}\n`;
    },
    durable,
    (error) => new Error(`cannot write ${path}: ${(error as NodeJS.ErrnoException).code}`),
    eager,
    full,
  );
  const set = (value: number) => {
    state.value = value;
    writer.changed();
  };
  return { state, writer, set, read: () => Number(readFileSync(path, 'utf8')) };
}

describe('StateFileWriter', () => {
  it('writes the newest state, and the changes made while a replace runs in one more replace', async () => {
    const path = join(tempDir(), 'state.json');
    const { state, writer, set, read } = counterFile(path);
    for (let i = 1; i <= 100; i++) set(i);
    await writer.saved();
    assert.equal(read(), 100);
    assert.equal(state.replaces, 2, 'one replace with the first change, one with the 99 made while it ran');
    set(101);
    set(102);
    await writer.saved();
    assert.equal(read(), 102);
    assert.equal(state.replaces, 4);
  });

  it('resolves a wait only once the file is at most so many changes behind', async () => {
    const path = join(tempDir(), 'state.json');
    const { writer, set, read } = counterFile(path, false);
    set(1); // replace 1 starts with 1
    set(2);
    set(3); // replace 2 will take 3
    const seen: number[] = [];
    const waits = [writer.saved(2).then(() => seen.push(read())), writer.saved(0).then(() => seen.push(read()))];
    await Promise.all(waits);
    assert.deepEqual(seen, [1, 3], 'two behind: after the first replace; none behind: after the second');
    await writer.saved(5);
    assert.equal(read(), 3, 'a wait the file already meets resolves at once');
  });

  it('on demand, writes nothing until a change is asked for, then the newest state in one replace', async () => {
    const path = join(tempDir(), 'state.json');
    const { state, writer, set, read } = counterFile(path, false, false);
    for (let i = 1; i <= 10; i++) set(i);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(state.replaces, 0);
    assert.equal(writer.changes, 10);
    await writer.savedThrough(4);
    assert.equal(read(), 10, 'the newest state, though change 4 was asked for');
    assert.equal(state.replaces, 1);
    set(11);
    writer.request(11);
    writer.request(11);
    await writer.savedThrough(11);
    assert.equal(read(), 11);
    assert.equal(state.replaces, 2);
    await writer.savedThrough(3);
    assert.equal(state.replaces, 2, 'a change on disk already is not written again');
  });

  it('replaces nothing while what must be on disk before it is not, and fails the replace when that fails', async () => {
    const path = join(tempDir(), 'state.json');
    const { state, writer, set, read } = counterFile(path);
    let release = () => {};
    let held: Promise<void> | null = new Promise((resolve) => (release = resolve));
    writer.writeAfter(() => held);
    set(1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(state.replaces, 0, 'nothing taken while the wait holds');
    const saved = writer.saved();
    held = null;
    release();
    await saved;
    assert.equal(read(), 1);
    writer.writeAfter(() => Promise.reject(new Error('the letters found no room')));
    set(2);
    await assert.rejects(writer.saved(), /cannot write/);
    assert.equal(read(), 1, 'the file keeps the state from before');
  });

  it('makes its directory again when it was deleted while in use, and writes the newest state there', async () => {
    const dir = join(tempDir(), 'state');
    mkdirSync(dir);
    const path = join(dir, 'state.json');
    const { writer, set, read } = counterFile(path);
    set(1);
    await writer.saved();
    rmSync(dir, { recursive: true });
    set(2);
    await writer.saved();
    assert.equal(read(), 2);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });

  /**
   * A counter file on a 64 KiB tmpfs, saved once, then the disk filled and a change made: its wait
   * for room under way. `said` holds the notes; `outcome` how the wait for the change settled.
   */
  async function waitingOnFullDisk(t: TestContext, limitMs: number) {
    const disk = mountTmpfs(t, 'size=64k');
    const path = join(disk, 'state.json');
    const said: string[] = [];
    const file = counterFile(path, true, true, { onFull: (e) => said.push(e.message), limitMs });
    file.set(1);
    await file.writer.saved();
    fillDisk(disk);
    file.set(2);
    const outcome: { settled: string; failed: Error | null } = { settled: '', failed: null };
    const wait = file.writer.saved().then(
      () => void (outcome.settled = 'resolved'),
      (error: Error) => void ((outcome.settled = 'rejected'), (outcome.failed = error)),
    );
    return { ...file, disk, path, said, outcome, wait, tried: file.state.replaces };
  }

  // The kubectl positions stopped a live tail (exit 4) on a full disk, while the spool waited for room on it.
  it(
    'with a full-disk wait, waits out a full disk, says so once, and writes the newest state once there is room',
    { skip: skipTmpfs ?? false },
    async (t) => {
      const { disk, path, said, outcome, wait, tried, state, writer, set, read } = await waitingOnFullDisk(t, 0);
      await until(() => state.replaces >= tried + 2 || outcome.settled !== '');
      assert.equal(outcome.settled, '', 'the wait neither failed nor passed while the disk was full');
      assert.deepEqual(said, [`cannot write ${path}: ENOSPC`], 'said once, however many tries');
      assert.equal(writer.waitingForRoom, true, 'waiting for room, for the metrics and /readyz');
      set(3);
      rmSync(join(disk, 'filler'));
      await wait;
      assert.equal(outcome.settled, 'resolved');
      assert.equal(writer.waitingForRoom, false, 'no longer waiting once written');
      await writer.saved();
      assert.equal(read(), 3);
    },
  );

  it(
    'with a full-disk wait, stopWaiting() ends a wait for room: the replace fails as any other',
    { skip: skipTmpfs ?? false },
    async (t) => {
      const { path, outcome, wait, tried, state, writer, read } = await waitingOnFullDisk(t, 0);
      await until(() => state.replaces >= tried + 2 || outcome.settled !== '');
      assert.equal(outcome.settled, '', 'still waiting for room');
      writer.stopWaiting();
      await wait;
      assert.deepEqual(outcome.failed, new Error(`cannot write ${path}: ENOSPC`));
      assert.equal(writer.waitingForRoom, false, 'a replace that failed waits no more');
      assert.equal(read(), 1);
    },
  );

  // A backfill's checkpoint waits out a full disk as long as its spool does (--retry-timeout), no longer.
  it('with a limit, a fill that outlasts it fails the replace, after tries and one note', { skip: skipTmpfs ?? false }, async (t) => {
    const { path, said, outcome, wait, tried, state, read, writer } = await waitingOnFullDisk(t, 1500);
    await until(() => state.replaces >= tried + 1);
    assert.equal(outcome.settled, '', 'waiting at first');
    await wait;
    assert.deepEqual(outcome.failed, new Error(`cannot write ${path}: ENOSPC`));
    assert.ok(state.replaces >= tried + 2, `tried again before giving up (${state.replaces - tried} tries)`);
    assert.equal(writer.waitingForRoom, false, 'given up, no longer waiting');
    assert.deepEqual(said, [`cannot write ${path}: ENOSPC`]);
    assert.equal(read(), 1);
  });

  it('reports a failed replace to every wait and to every later change; the file keeps its last state', async () => {
    const dir = tempDir();
    const path = join(dir, 'state.json');
    const { writer, set, read } = counterFile(path);
    set(1);
    await writer.saved();
    mkdirSync(`${path}.tmp`); // a directory where the replace writes its file: every replace fails
    set(2);
    const waits = [writer.saved(), writer.saved(0)];
    for (const wait of waits) await assert.rejects(wait, new Error(`cannot write ${path}: EISDIR`));
    assert.throws(() => set(3), new Error(`cannot write ${path}: EISDIR`));
    await assert.rejects(writer.saved(5), /EISDIR/);
    assert.equal(read(), 1);
  });
});
