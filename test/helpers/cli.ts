/** Runs the built CLI as a user would: a real child process, real stdin/stdout/stderr. */
import { spawn } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT } from './paths.js';

/** The directories tempDir made in this process. */
const made: string[] = [];

/**
 * Removes them when the process exits (a test file runs in a process of its own): a run of the suite
 * makes about 700, some with 100 MB of input or spool in them. A process that exits with a failure
 * keeps them, and says where, for a look at what the failing test left.
 */
function removeMade(code: number): void {
  if (code !== 0) {
    process.stderr.write(`temporary directories kept for a look at the failure:\n${made.map((d) => `  ${d}\n`).join('')}`);
    return;
  }
  for (const dir of made) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Still a mount point, or written by a child that outlived the test: left for the system's temp cleaner.
    }
  }
}

/** Replaces the file at `path` at once, as `mv` or a Kubernetes Secret volume's update does: a reader sees the old bytes or the new. */
export function replaceFile(path: string, content: string | Buffer): void {
  writeFileSync(`${path}.new`, content);
  renameSync(`${path}.new`, path);
}

/** A fresh directory under the system temp dir, removed when the process exits. */
export function tempDir(prefix = 'audit-ship-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (made.push(dir) === 1) process.once('exit', removeMade);
  return dir;
}

/**
 * The environment a test CLI runs in: no colour, and a spool of its own (one process per spool
 * directory), unless the test names one.
 */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // Run as a GitHub Actions step (or a GitLab job), the suite's lint runs would append to that step's
  // summary and name their files relative to its checkout.
  const { GITHUB_STEP_SUMMARY: _, GITHUB_WORKSPACE: _w, CI_PROJECT_DIR: _p, ...env } = process.env;
  return { ...env, NO_COLOR: '1', AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool'), ...extra };
}

/** NODE_OPTIONS that preload the compiled test helper `name` (test/helpers/NAME.ts) into a CLI under test. */
const preload = (name: string) => `--import=${join(ROOT, 'dist', 'test', 'helpers', `${name}.js`)}`;

/**
 * NODE_OPTIONS that make a CLI under test list the files it still holds open as it exits
 * (test/helpers/open-files.ts); read them back with `openFiles`.
 */
export const LIST_OPEN_FILES = preload('open-files');

/** The files a CLI run with LIST_OPEN_FILES held open at its exit. */
export function openFiles(stderr: string): string[] {
  return [...stderr.matchAll(/^open-file: (.*)$/gm)].map((m) => m[1]!);
}

/**
 * NODE_OPTIONS that make a CLI under test report its new space's size at start and the largest it
 * grew to (test/helpers/new-space.ts); read them back with `newSpace`.
 */
export const NEW_SPACE = preload('new-space');

/** The new space's size at start and its largest, in bytes, of a CLI run with NEW_SPACE. */
export function newSpace(stderr: string): { start: number; largest: number } {
  const m = /^new-space: (\d+) (\d+)$/m.exec(stderr);
  if (!m) throw new Error(`no new-space line in: ${stderr}`);
  return { start: Number(m[1]), largest: Number(m[2]) };
}

/**
 * NODE_OPTIONS that make a CLI run list the node modules it loaded on stderr
 * (test/helpers/loaded-modules.ts); read them back with `loadedBuiltins`.
 */
export const LIST_BUILTINS = preload('loaded-modules');

/** The node modules (`crypto`, `tls`, ...) a CLI run with LIST_BUILTINS loaded. */
export function loadedBuiltins(stderr: string): Set<string> {
  return new Set([...stderr.matchAll(/^builtin: (.+)$/gm)].map((m) => m[1]!));
}

/**
 * NODE_OPTIONS that make a CLI under test list the npm packages it loads
 * (test/helpers/loaded-packages.ts); read them back with `loadedPackages`.
 */
export const LIST_PACKAGES = preload('loaded-packages');

/** The npm packages (`commander`, `chalk`, ...) a CLI run with LIST_PACKAGES loaded. */
export function loadedPackages(stderr: string): Set<string> {
  return new Set([...stderr.matchAll(/^package: (.+)$/gm)].map((m) => m[1]!));
}

/**
 * NODE_OPTIONS that make a CLI run report its pid and node's own flags on stderr
 * (test/helpers/node-flags.ts); read them back with `nodeFlags`.
 */
export const NODE_FLAGS = preload('node-flags');

/** The pid and node flags a CLI run with NODE_FLAGS reported. */
export function nodeFlags(stderr: string): { pid: number; execArgv: string[] } {
  const m = /^node-flags: (.+)$/m.exec(stderr);
  if (!m) throw new Error(`no node-flags line in: ${stderr}`);
  return JSON.parse(m[1]!) as { pid: number; execArgv: string[] };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  input?: string | Buffer;
  /** stdin redirected from this open file (`audit-ship < file`), at its current offset, instead of a pipe. */
  stdinFd?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      env: cliEnv(options.env),
      stdio: [options.stdinFd ?? 'pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => stdout.push(c));
    child.stderr!.on('data', (c: Buffer) => stderr.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
    });
    if (!child.stdin) return;
    child.stdin.on('error', () => {}); // the CLI may exit before reading all of its input
    child.stdin.end(options.input ?? '');
  });
}
