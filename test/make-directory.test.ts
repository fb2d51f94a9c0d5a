/**
 * `mkdir -p` that names the true cause (src/make-directory.ts), on real file systems: a read-only
 * one (a tmpfs mounted read-only, as root; skipped elsewhere with the reason printed) is said to be
 * read-only, where Node's recursive mkdir says "no such file or directory"; a directory that cannot
 * hold another (/proc) or a link to nothing ends the attempt, where Node's loops for ever.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { makeDirectory } from '../src/make-directory.js';
import { cliEnv, runCli, tempDir } from './helpers/cli.js';
import { CLI } from './helpers/paths.js';
import { mountTmpfs, tmpfsUnavailable } from './helpers/tmpfs.js';

const skipReadOnly = tmpfsUnavailable('ro,size=1m', 'the read-only file system tests');
const readOnlyDir = (t: TestContext) => mountTmpfs(t, 'ro,size=1m');

describe('makeDirectory', () => {
  it('makes a directory and its missing parents with the mode asked, and takes one that exists', () => {
    const path = join(tempDir(), 'a', 'b', 'c');
    makeDirectory(path, 0o700);
    assert.equal(statSync(path).mode & 0o777, 0o700);
    makeDirectory(path, 0o700);
    assert.ok(statSync(path).isDirectory());
  });

  it('says a file in the way is not a directory', () => {
    const file = join(tempDir(), 'file');
    writeFileSync(file, '');
    assert.throws(() => makeDirectory(join(file, 'a', 'b')), { code: 'ENOTDIR' });
  });

  it('says a link to nothing in the path is not a directory', () => {
    const link = join(tempDir(), 'volume');
    symlinkSync(join(tempDir(), 'not-mounted'), link);
    assert.throws(() => makeDirectory(join(link, 'spool')), { code: 'ENOTDIR' });
    assert.throws(() => makeDirectory(join(link, 'a', 'b')), { code: 'ENOTDIR' });
  });

  // Node's recursive mkdir met ENOENT under /proc, then EEXIST for /proc, and tried both again for
  // ever, at full CPU and deaf to signals; so the run is a child of its own, killed if it hangs.
  it(
    'ship ends at once with "no such file" for a spool under /proc, and a link to nothing',
    { skip: existsSync('/proc/self') ? false : 'no /proc here' },
    () => {
      const link = join(tempDir(), 'volume');
      symlinkSync(join(tempDir(), 'not-mounted'), link);
      for (const [dir, said] of [
        ['/proc/audit-ship-spool', 'no such file or directory'],
        [join(link, 'spool'), 'not a directory'],
      ]) {
        const run = spawnSync(process.execPath, [CLI, 'ship', '--spool-dir', dir!, '--port', '1'], {
          input: '',
          env: cliEnv(),
          encoding: 'utf8',
          timeout: 60_000,
          killSignal: 'SIGKILL',
        });
        assert.equal(run.signal, null, `${dir}: killed, it hung`);
        assert.equal(run.status, 1, run.stderr);
        assert.ok(run.stderr.includes(`cannot use the spool ${dir}: ${said} (ERR_AUDIT_SHIP_SPOOL)`), run.stderr);
      }
    },
  );

  it('says a read-only file system is read-only, however deep the path', { skip: skipReadOnly ?? false }, (t) => {
    const ro = readOnlyDir(t);
    assert.throws(() => makeDirectory(join(ro, 'spool')), { code: 'EROFS' });
    assert.throws(() => makeDirectory(join(ro, 'a', 'b', 'c')), { code: 'EROFS' });
  });

  it('ship and lint name a read-only file system under --spool-dir and --output', { skip: skipReadOnly ?? false }, async (t) => {
    const ro = readOnlyDir(t);
    const input = { input: '' };
    const ship = await runCli(['ship', '--spool-dir', join(ro, 'spool'), '--port', '1'], input);
    assert.equal(ship.code, 1, ship.stderr);
    assert.match(ship.stderr, /cannot use the spool \S+\/spool: read-only file system \(ERR_AUDIT_SHIP_SPOOL\)/);
    const lint = await runCli(['lint', '--allow-empty', '--format', 'junit', '--output', join(ro, 'reports', 'junit.xml')], input);
    assert.equal(lint.code, 2, lint.stderr);
    assert.match(lint.stderr, /--output \S+\/reports\/junit\.xml: read-only file system \(ERR_AUDIT_SHIP_OUTPUT\)/);
  });
});
