/**
 * The launcher. Run as a command, as npm installs it and a shell finds it, bin/audit-ship.js starts
 * node with --no-concurrent-recompilation (docs/performance.md says what it saves) in its own
 * process, with every argument as it was given; run with `node`, it runs with node's defaults.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NODE_FLAGS, cliEnv, nodeFlags, tempDir } from '../helpers/cli.js';
import { lines } from '../helpers/ledger.js';
import { CLI, THIS_NODE_FIRST } from '../helpers/paths.js';

const FLAGS = ['--no-concurrent-recompilation'];
const dir = tempDir('audit-ship-launcher-');
// The launcher runs the `node` on PATH, as `#!/usr/bin/env node` would: this one, for the tests.
const env = cliEnv({ PATH: THIS_NODE_FIRST, NODE_OPTIONS: NODE_FLAGS });

function run(command: string, args: string[]): SpawnSyncReturns<string> {
  return spawnSync(command, args, { env, encoding: 'utf8', cwd: dir });
}

/** The stderr a user sees: without the probe's line. */
const userStderr = (r: SpawnSyncReturns<string>) => r.stderr.replace(/^node-flags: .*\n/m, '');

describe('the launcher', { skip: process.platform === 'win32' ? 'a #! script needs a POSIX shell' : false }, () => {
  it('run as a command, starts node with its flags in the same process', () => {
    const r = run(CLI, ['--version']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
    const reported = nodeFlags(r.stderr);
    assert.deepEqual(reported.execArgv, FLAGS);
    // The shell replaced itself with node: signals sent to the pid a supervisor holds reach node.
    assert.equal(reported.pid, r.pid);
  });

  it('run through a link, as npm installs it, does the same', () => {
    const link = join(tempDir('audit-ship-launcher-bin-'), 'audit-ship');
    symlinkSync(CLI, link);
    const r = run(link, ['--version']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(nodeFlags(r.stderr).execArgv, FLAGS);
  });

  it('passes every argument through as it was given', () => {
    // Spaces, quotes, a variable, a glob and a backslash: each must reach the CLI untouched.
    const file = join(dir, `a b $HOME * 'q' "d" \\x.jsonl`);
    writeFileSync(file, lines(3, 51).join(''));
    const r = run(CLI, ['lint', '--summary', 'json', file, '']);
    // The empty argument is passed on too: lint names it as a file it cannot open.
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /cannot open|no such file|ENOENT/i);
    const ok = run(CLI, ['lint', '--summary', 'json', file]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal((JSON.parse(userStderr(ok).trim().split('\n').pop()!) as { valid: number }).valid, 3);
  });

  it('gives the same status and output as the CLI run with node, and node alone runs it with its defaults', () => {
    const file = join(dir, 'mixed.jsonl');
    writeFileSync(file, [...lines(2, 52), '{"not":"a record"}\n', 'not json\n'].join(''));
    const args = ['lint', '--format', 'json', file];
    const direct = run(CLI, args);
    const withNode = run(process.execPath, [CLI, ...args]);
    assert.equal(direct.status, 1, direct.stderr);
    assert.equal(direct.status, withNode.status);
    assert.equal(direct.stdout, withNode.stdout);
    assert.match(direct.stdout, /"code":"not-json"/);
    // The summary's first line counts the same; the second, time and memory, differs from run to run.
    assert.equal(userStderr(direct).split('\n')[0], userStderr(withNode).split('\n')[0]);
    assert.deepEqual(nodeFlags(withNode.stderr).execArgv, []);
  });
});
