/**
 * The suite's temporary directories go when the test file's process exits, unless it failed: a run
 * of the suite would otherwise leave about 700 of them behind, 1.2 GB in all.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './paths.js';

const helper = join(ROOT, 'dist', 'test', 'helpers', 'cli.js');

/** A process that makes two directories with tempDir, a file in each, and exits with `code`. */
function makeAndExit(code: number): { dirs: string[]; stderr: string } {
  const script = [
    `import { writeFileSync } from 'node:fs';`,
    `const { tempDir } = await import(${JSON.stringify(helper)});`,
    `const dirs = [tempDir(), tempDir('audit-ship-other-')];`,
    `for (const d of dirs) writeFileSync(d + '/spooled', 'x');`,
    `process.stdout.write(JSON.stringify(dirs));`,
    `process.exitCode = ${code};`,
  ].join('\n');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, code, r.stderr);
  return { dirs: JSON.parse(r.stdout) as string[], stderr: r.stderr };
}

test('tempDir: the directories, and what is in them, are removed when the process exits', () => {
  const { dirs, stderr } = makeAndExit(0);
  assert.equal(dirs.length, 2);
  for (const dir of dirs) assert.equal(existsSync(dir), false, `${dir} is still there`);
  assert.equal(stderr, '');
});

test('tempDir: a process that failed keeps them, and names each one on stderr', (t) => {
  const { dirs, stderr } = makeAndExit(1);
  t.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  for (const dir of dirs) {
    assert.ok(existsSync(join(dir, 'spooled')), `${dir} was removed`);
    assert.match(stderr, new RegExp(`^  ${dir}$`, 'm'));
  }
});
