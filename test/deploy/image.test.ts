/**
 * deploy/Dockerfile cannot be built here (no Docker daemon, no registry), so its steps are carried
 * out by hand: the build stage's bundle made in a copy of the built tree, the final stage's COPY
 * instructions into an image-like tree, and its ENTRYPOINT run there: the CLI must start from the
 * paths the image holds, with no node_modules (the bundle holds the packages it uses).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/cli.js';
import { imageEntrypoint } from '../helpers/dockerfile.js';
import { bundledTree } from '../helpers/package.js';
import { ROOT } from '../helpers/paths.js';

interface Stage {
  name: string;
  lines: string[];
}

function stages(): Stage[] {
  const text = readFileSync(join(ROOT, 'deploy', 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const out: Stage[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const from = /^FROM \S+(?: AS (\S+))?$/i.exec(line);
    if (from) out.push({ name: from[1] ?? 'final', lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

const all = stages();
const stage = (name: string) => all.find((s) => s.name === name)!;

/** The final stage's ENV instructions (`ENV A=1 B=2`, values without spaces), as an environment. */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of stage('final').lines.filter((l) => l.startsWith('ENV '))) {
    for (const pair of line.slice(4).trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      assert.ok(eq > 0, `ENV ${pair} is not NAME=VALUE`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'));

describe('deploy/Dockerfile', () => {
  it('builds as .ci/run does: npm ci from the lockfile, then the build; then bundles, as npm pack does, and copies no node_modules', () => {
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    assert.match(ci, /^npm ci /m);
    const build = stage('build').lines;
    assert.ok(build.some((l) => /^RUN npm ci /.test(l)));
    assert.ok(build.indexOf('RUN npm run build') >= 0 && build.indexOf('RUN npm run bundle') > build.indexOf('RUN npm run build'));
    const pack = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.prepack;
    assert.equal(pack, 'npm run build && npm run bundle');
    assert.ok(!stage('final').lines.some((l) => l.startsWith('COPY ') && l.includes('node_modules')), 'no node_modules in the image');
  });

  it('copies only what is in the context and not ignored', () => {
    for (const s of all) {
      for (const line of s.lines.filter((l) => /^COPY (?!--from)/.test(l))) {
        const sources = line.split(/\s+/).slice(1, -1);
        for (const source of sources) {
          assert.ok(existsSync(join(ROOT, source)), `${source} exists`);
          assert.ok(!ignored.includes(source), `${source} is not in .dockerignore`);
        }
      }
    }
  });

  it('runs as a non-root user, with the spool on a volume and labels that name it', () => {
    const final = stage('final').lines;
    assert.ok(final.includes('USER 1000:1000'));
    assert.ok(final.includes('VOLUME /var/lib/audit-ship'));
    assert.ok(final.some((l) => l.includes('AUDIT_SHIP_SPOOL_DIR=/var/lib/audit-ship/spool')));
    for (const label of ['source', 'version', 'licenses'])
      assert.ok(
        final.some((l) => l.includes(`org.opencontainers.image.${label}=`)),
        label,
      );
    assert.ok(
      stage('kubectl').lines.some((l) => l.includes('sha256sum --check')),
      'kubectl is checked against its checksum',
    );
  });

  it('starts the bundled CLI from its ENTRYPOINT, with no node_modules', () => {
    const image = tempDir('audit-ship-image-');
    // The final stage's COPY instructions, into the image's /app; the build stage is the bundled tree.
    const from: Record<string, string> = { build: bundledTree() };
    const roots: Record<string, string> = { build: '/src/' };
    for (const line of stage('final').lines.filter((l) => l.startsWith('COPY '))) {
      const parts = line.split(/\s+/).slice(1);
      const stageName = parts[0]!.startsWith('--from=') ? parts.shift()!.slice('--from='.length) : null;
      const target = parts.pop()!;
      if (stageName === 'kubectl') continue; // the kubectl on this machine's PATH stands in
      assert.ok(stageName === null || from[stageName], `COPY --from=${stageName}: a stage this test does not stand in for`);
      for (const source of parts) {
        const path = stageName ? join(from[stageName]!, source.slice(roots[stageName]!.length)) : join(ROOT, source);
        const to = target.endsWith('/') ? join(image, target, source.split('/').pop()!) : join(image, target);
        cpSync(path, to, { recursive: true });
      }
    }
    assert.ok(existsSync(join(image, 'dist', 'bundle', 'main.js')), 'the image holds the bundle');
    assert.ok(!existsSync(join(image, 'dist', 'src')), 'and not the compiled modules');
    // node's own flags come between node and the script: node must accept each of them.
    const { nodeArgs, script: imageScript } = imageEntrypoint();
    const script = join(image, imageScript.replace(/^\/app\//, ''));
    // The image's ENV too: node refuses to start on a NODE_OPTIONS it does not allow.
    const env = { ...process.env, ...imageEnv() };
    assert.ok(env.NODE_OPTIONS, 'the image sets NODE_OPTIONS');
    const version = spawnSync(process.execPath, [...nodeArgs, script, '--version'], { encoding: 'utf8', env });
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    const sample = spawnSync(process.execPath, [...nodeArgs, script, 'sample', '--count', '5'], { encoding: 'utf8', env });
    const lint = spawnSync(process.execPath, [...nodeArgs, script, 'lint', '-'], { input: sample.stdout, encoding: 'utf8', env });
    assert.equal(lint.status, 0, lint.stderr);
    assert.ok(!existsSync(join(image, 'node_modules')), 'no node_modules in the image');
  });
});
