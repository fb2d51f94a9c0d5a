/**
 * audit-ship installs like a real tool: the tarball holds the runtime and nothing else, and a global
 * install from the tarball or from a git URL, or an install from git into a project, runs from any
 * directory.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { ROOT } from '../helpers/paths.js';

const npm = (args: string[], cwd = ROOT) =>
  execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    // npm's warnings are its own business; a failure still throws with them in the error.
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' },
  });
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Packs the built tree as it stands (scripts off: the tests' own build must not be swept away mid-run). */
function pack(): { file: string; files: string[] } {
  const dir = tempDir('audit-ship-pack-');
  const [info] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir])) as [
    { filename: string; files: { path: string }[] },
  ];
  return { file: join(dir, info.filename), files: info.files.map((f) => f.path) };
}

/** Runs the installed CLI from a directory that is not the repository, as a user would. */
function runInstalled(prefix: string, binDir = 'bin'): void {
  const bin = join(prefix, binDir, 'audit-ship');
  const elsewhere = tempDir('audit-ship-elsewhere-');
  assert.equal(execFileSync(bin, ['--version'], { cwd: elsewhere, encoding: 'utf8' }).trim(), version);
  const sample = execFileSync(bin, ['sample', '--count', '20'], { cwd: elsewhere });
  const lint = spawnSync(bin, ['lint', '--summary', 'json', '-'], { cwd: elsewhere, input: sample, encoding: 'utf8' });
  assert.equal(lint.status, 0, lint.stderr);
  assert.equal((JSON.parse(lint.stderr.trim().split('\n').pop()!) as { valid: number }).valid, 20);
}

describe('the package', () => {
  it('holds the runtime, the license, the README and the changelog, and nothing else', () => {
    const { files } = pack();
    const extra = files.filter((f) => !/^(bin\/audit-ship\.js|dist\/src\/.+\.js|package\.json|README\.md|LICENSE|CHANGELOG\.md)$/.test(f));
    assert.deepEqual(extra, [], 'no tests, benchmarks, source maps or sources');
    for (const needed of ['bin/audit-ship.js', 'dist/src/cli/main.js', 'LICENSE', 'README.md', 'CHANGELOG.md'])
      assert.ok(files.includes(needed), needed);
  });

  it('runs straight from the tarball with npx, without installing', () => {
    const tarball = pack().file;
    const out = execFileSync('npx', ['--yes', `--package=${tarball}`, 'audit-ship', '--version'], {
      cwd: tempDir('audit-ship-npx-'),
      encoding: 'utf8',
    });
    assert.equal(out.trim(), version);
  });

  it('installs globally from the tarball and runs from any directory', () => {
    const prefix = tempDir('audit-ship-global-');
    npm(['install', '--global', '--prefix', prefix, pack().file]);
    runInstalled(prefix);
  });

  it('installs globally from a git URL and runs from any directory', async (t) => {
    // A real git remote: `git daemon` serves a bare clone of this repository on 127.0.0.1.
    const base = tempDir('audit-ship-gitd-');
    execFileSync('git', ['clone', '-q', '--bare', ROOT, join(base, 'audit-ship.git')]);
    const port = await freePort();
    const daemon = spawn(
      'git',
      ['daemon', '--export-all', `--base-path=${base}`, '--reuseaddr', '--listen=127.0.0.1', `--port=${port}`, base],
      {
        stdio: 'ignore',
      },
    );
    t.after(() => daemon.kill());
    const url = `git://127.0.0.1:${port}/audit-ship.git`;
    for (let i = 0; spawnSync('git', ['ls-remote', url]).status !== 0; i++) {
      if (i > 100) throw new Error('git daemon did not start');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // --install-links: npm 11 otherwise links a global git package to its temporary clone, which it deletes.
    const prefix = tempDir('audit-ship-global-git-');
    npm(['install', '--global', '--install-links', '--prefix', prefix, url], tempDir());
    runInstalled(prefix);
  });

  it(
    'installs from the git repository into a project, building what it runs',
    { skip: spawnSync('git', ['-C', ROOT, 'rev-parse', 'HEAD']).status === 0 ? false : 'not a git checkout' },
    () => {
      const prefix = tempDir('audit-ship-git-');
      npm(['install', '--prefix', prefix, `git+file://${ROOT}`]);
      runInstalled(join(prefix, 'node_modules', '.bin'), '');
    },
  );
});
