/**
 * audit-ship installs like a real tool: the tarball holds the runtime and nothing else, and a global
 * install from the tarball or from a git URL, or an install from git into a project, runs from any
 * directory. The runtime is the bundle (scripts/bundle.mjs), with the packages it uses inside it:
 * the installed command ships several files on worker threads to an independent Fluentd peer.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FluentServer } from '@fluent-org/logger';
import { sampleLines } from '../../src/sample/generate.js';
import { tempDir } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { bundledTree } from '../helpers/package.js';
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

/** Packs a bundled copy of the built tree (scripts off: prepack's build would sweep away the tests' own mid-run). */
function pack(): { file: string; files: string[] } {
  const dir = tempDir('audit-ship-pack-');
  const [info] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], bundledTree())) as [
    { filename: string; files: { path: string }[] },
  ];
  return { file: join(dir, info.filename), files: info.files.map((f) => f.path) };
}

class CountingServer extends FluentServer {
  readonly ids: string[] = [];
  protected override onEntry(_tag: string, _time: unknown, record: Record<string, unknown>): void {
    this.ids.push(record.RequestID as string);
  }
}

/** The installed command ships two files, each read on a worker thread of its own, to @fluent-org/logger's FluentServer. */
async function shipInstalled(prefix: string): Promise<void> {
  const server = new CountingServer({ listenOptions: { port: 0, host: '127.0.0.1' } });
  await server.listen();
  try {
    const dir = tempDir('audit-ship-installed-ship-');
    const lines = [...sampleLines(400, { seed: 83, start: 1632312000 })];
    const files = [join(dir, 'a.log'), join(dir, 'b.log')];
    writeFileSync(files[0]!, lines.slice(0, 200).join(''));
    writeFileSync(files[1]!, lines.slice(200).join(''));
    const args = ['--port', String(server.port), '--spool-dir', join(dir, 'spool'), '--workers', '2', '--summary', 'json', ...files];
    const child = spawn(join(prefix, 'bin', 'audit-ship'), args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    assert.match(stderr, /reading 2 files, 2 at a time/);
    assert.equal((JSON.parse(stderr.trim().split('\n').pop()!) as { recordsAcked: number }).recordsAcked, 400);
    assert.deepEqual(new Set(server.ids), new Set(lines.map((l) => (JSON.parse(l) as { RequestID: string }).RequestID)));
  } finally {
    await server.close();
  }
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
  it('holds the bundle, the licenses, the README and the changelog, and nothing else; it depends on no package', () => {
    const { files } = pack();
    const runtime = /^(bin\/audit-ship\.js|dist\/bundle\/[\w-]+\.js|dist\/bundle\/THIRD-PARTY-NOTICES\.md)$/;
    const extra = files.filter((f) => !runtime.test(f) && !/^(package\.json|README\.md|LICENSE|CHANGELOG\.md)$/.test(f));
    assert.deepEqual(extra, [], 'no tests, benchmarks, compiled modules, source maps or sources');
    for (const needed of ['bin/audit-ship.js', 'dist/bundle/main.js', 'dist/bundle/worker.js', 'dist/bundle/young-generation.js'])
      assert.ok(files.includes(needed), needed);
    for (const needed of ['LICENSE', 'README.md', 'CHANGELOG.md', 'dist/bundle/THIRD-PARTY-NOTICES.md'])
      assert.ok(files.includes(needed), needed);
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: object };
    assert.equal(manifest.dependencies, undefined, 'the bundle holds every package it uses');
    // Every package bundled has its licence in the notices.
    const notices = readFileSync(join(bundledTree(), 'dist', 'bundle', 'THIRD-PARTY-NOTICES.md'), 'utf8');
    for (const name of ['commander', 'split2', '@msgpack/msgpack', 'prom-client', 'ora', 'chalk'])
      assert.match(notices, new RegExp(`^## ${name} `, 'm'));
  });

  it('runs straight from the tarball with npx, without installing', () => {
    const tarball = pack().file;
    const out = execFileSync('npx', ['--yes', `--package=${tarball}`, 'audit-ship', '--version'], {
      cwd: tempDir('audit-ship-npx-'),
      encoding: 'utf8',
    });
    assert.equal(out.trim(), version);
  });

  it('installs globally from the tarball and runs from any directory, shipping on worker threads', async () => {
    const prefix = tempDir('audit-ship-global-');
    npm(['install', '--global', '--prefix', prefix, pack().file]);
    runInstalled(prefix);
    await shipInstalled(prefix);
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
