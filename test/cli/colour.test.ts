/**
 * Colour on a terminal, never with NO_COLOR, and where FORCE_COLOR asks (chalk's rule); and chalk
 * is loaded only where a stream could be coloured, so a run from cron, CI or a pod pays nothing
 * for it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LIST_BUILTINS, LIST_PACKAGES, loadedBuiltins, loadedPackages, runCli, tempDir } from '../helpers/cli.js';
import { CLI } from '../helpers/paths.js';

const dir = tempDir('audit-ship-colour-');
const bad = join(dir, 'bad.jsonl');
writeFileSync(bad, '{"Host": 1}\n');
const ESC = '\u001b[';
/** Neither colour flag set by whoever runs the tests. */
const UNSET = { NO_COLOR: undefined, FORCE_COLOR: undefined, TF_BUILD: undefined };

const hasScript = spawnSync('script', ['--version']).status === 0;
/** The terminal cases need util-linux's `script` to make the pseudo-terminal. */
const ON_TERMINAL = { skip: hasScript ? false : "util-linux's script is not installed" };

/**
 * The environment of a terminal session, built rather than inherited: chalk also reads CI, TERM,
 * COLORTERM and a dozen CI vendors' variables (a terminal inside an unknown CI gets no colour), and
 * the test must not depend on which of them whoever runs it has set.
 */
function terminalEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { PATH, HOME, NODE_V8_COVERAGE } = process.env;
  return { PATH, HOME, NODE_V8_COVERAGE, AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool'), ...env };
}

/**
 * A shell command on a pseudo-terminal made by util-linux's `script`: what the terminal showed.
 * script's own stdin is empty, so the terminal reads an end of input at once.
 */
function onTerminal(command: string, env: NodeJS.ProcessEnv) {
  return spawnSync('script', ['-qec', command, '/dev/null'], { env: terminalEnv(env), encoding: 'utf8', input: '' });
}

/** `audit-ship lint bad.jsonl` on a terminal. */
function lintOnTerminal(env: NodeJS.ProcessEnv): string {
  const r = onTerminal(`'${process.execPath}' '${CLI}' lint '${bad}'`, env);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /not-audit-record/);
  return r.stdout;
}

describe('colour', () => {
  it('none where no stream is a terminal, and chalk (with node:tty) is not loaded', async () => {
    const r = await runCli(['lint', bad], { env: { ...UNSET, NODE_OPTIONS: LIST_BUILTINS } });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /not-audit-record/);
    assert.ok(!r.stdout.includes(ESC) && !r.stderr.includes(ESC), 'colour on a pipe');
    const builtins = loadedBuiltins(r.stderr);
    assert.ok(builtins.has('fs'), 'the probe listed nothing');
    assert.ok(!builtins.has('tty'), 'a run on pipes loaded node:tty');
    const packages = await runCli(['lint', bad], { env: { ...UNSET, NODE_OPTIONS: LIST_PACKAGES } });
    assert.ok(loadedPackages(packages.stderr).has('commander'), 'the package probe listed nothing');
    assert.ok(!loadedPackages(packages.stderr).has('chalk'), 'a run on pipes loaded chalk');
  });

  it('FORCE_COLOR colours a pipe, and NO_COLOR wins over it', async () => {
    const forced = await runCli(['lint', bad], { env: { ...UNSET, FORCE_COLOR: '1', NODE_OPTIONS: LIST_PACKAGES } });
    assert.ok(loadedPackages(forced.stderr).has('chalk'), 'FORCE_COLOR without chalk');
    assert.ok(forced.stdout.includes(ESC), `no colour with FORCE_COLOR: ${forced.stdout}`);
    assert.ok(forced.stderr.includes(ESC), `no colour on stderr with FORCE_COLOR: ${forced.stderr}`);
    const both = await runCli(['lint', bad], { env: { ...UNSET, FORCE_COLOR: '1', NO_COLOR: '1' } });
    assert.match(both.stdout, /not-audit-record/);
    assert.ok(!both.stdout.includes(ESC) && !both.stderr.includes(ESC), 'colour with NO_COLOR');
  });

  it('on a terminal: colour, and none with NO_COLOR', ON_TERMINAL, () => {
    assert.ok(lintOnTerminal({ TERM: 'xterm' }).includes(ESC), 'no colour on a terminal');
    assert.ok(!lintOnTerminal({ TERM: 'xterm', NO_COLOR: '1' }).includes(ESC), 'colour on a terminal with NO_COLOR');
  });

  // A run with no file named waited silently for lines typed: it looked like a hang.
  it('stdin on a terminal: ship and lint say they read it, and how to end it; not with a file or a pipe', ON_TERMINAL, async () => {
    const env = { TERM: 'xterm', NO_COLOR: '1' };
    const cli = (args: string) => onTerminal(`'${process.execPath}' '${CLI}' ${args}`, env).stdout;
    const hint = /reading audit lines from this terminal, one JSON record a line; end with Ctrl-D/;
    assert.match(cli('lint --allow-empty'), new RegExp(`audit-ship lint: ${hint.source}`));
    assert.match(cli('ship --port 1 --retry-timeout 1s -'), new RegExp(`audit-ship: ${hint.source}`));
    assert.doesNotMatch(cli(`lint '${bad}'`), hint);
    // stderr on the terminal, stdin a pipe: `zcat … | audit-ship` typed at a terminal.
    const piped = onTerminal(`cat '${bad}' | '${process.execPath}' '${CLI}' lint`, env).stdout;
    assert.match(piped, /not-audit-record/);
    assert.doesNotMatch(piped, hint);
    assert.doesNotMatch((await runCli(['lint', '--allow-empty'], { input: '' })).stderr, hint);
  });

  it("on a terminal inside a CI chalk does not know: none, by chalk's rule", ON_TERMINAL, () => {
    assert.ok(!lintOnTerminal({ TERM: 'xterm', CI: 'true' }).includes(ESC), 'colour on a terminal in an unknown CI');
    assert.ok(lintOnTerminal({ TERM: 'xterm', CI: 'true', FORCE_COLOR: '1' }).includes(ESC), 'FORCE_COLOR did not colour it');
  });
});
