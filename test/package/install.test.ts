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
import { LIST_BUILTINS, loadedBuiltins, tempDir } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { idOf } from '../helpers/ledger.js';
import { bundledTree } from '../helpers/package.js';
import { jsonSummary } from '../helpers/ship-cli.js';
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

/** Runs the installed command to its end; its exit code and stderr. */
async function runBin(
  bin: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(bin, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stderr };
}

const acked = (stderr: string) => jsonSummary(stderr).recordsAcked;

/**
 * The installed command ships to @fluent-org/logger's FluentServer: a file with one reader, which
 * loads none of the node modules it does not use (the bundle kept them lazy, as the modules are:
 * test/cli/loaded-modules.test.ts), then two files, each read on a worker thread of its own.
 */
async function shipInstalled(prefix: string): Promise<void> {
  const server = new CountingServer({ listenOptions: { port: 0, host: '127.0.0.1' } });
  await server.listen();
  try {
    const bin = join(prefix, 'bin', 'audit-ship');
    const dir = tempDir('audit-ship-installed-ship-');
    const lines = [...sampleLines(400, { seed: 83, start: 1632312000 })];
    const files = [join(dir, 'a.log'), join(dir, 'b.log')];
    writeFileSync(files[0]!, lines.slice(0, 200).join(''));
    writeFileSync(files[1]!, lines.slice(200).join(''));
    const to = ['--port', String(server.port), '--summary', 'json'];
    const plain = await runBin(bin, [...to, '--spool-dir', join(dir, 'spool-plain'), files[0]!], dir, { NODE_OPTIONS: LIST_BUILTINS });
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(acked(plain.stderr), 200);
    const builtins = loadedBuiltins(plain.stderr);
    assert.ok(builtins.has('net'), 'the probe lists what a run loads');
    for (const name of ['crypto', 'tls', 'dns', 'worker_threads'])
      assert.ok(!builtins.has(name), `a plain run of the bundle loaded node:${name}`);
    const parallel = await runBin(bin, [...to, '--spool-dir', join(dir, 'spool'), '--workers', '2', ...files], dir);
    assert.equal(parallel.code, 0, parallel.stderr);
    assert.match(parallel.stderr, /reading 2 files, 2 at a time/);
    assert.equal(acked(parallel.stderr), 400);
    const ids = lines.map(idOf);
    assert.deepEqual(new Set(server.ids), new Set(ids));
    assert.equal(server.ids.length, 600, 'the first file twice, the second once');
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
