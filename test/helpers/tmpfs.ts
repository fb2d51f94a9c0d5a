/**
 * A small tmpfs of a test's own (a full disk, a read-only file system): mounting needs root, so
 * the tests that need one run here as root and are skipped elsewhere, with the reason printed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { tempDir } from './cli.js';

/**
 * Why `mount -t tmpfs -o OPTIONS` cannot run here, or null when it can: `what` names the tests that
 * would be skipped, and the reason is printed for them.
 */
export function tmpfsUnavailable(options: string, what: string): string | null {
  const reason = (() => {
    if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
    const probe = tempDir('audit-ship-tmpfs-probe-');
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', probe]);
    if (mounted.status !== 0) return `mount -t tmpfs failed: ${mounted.stderr?.toString().trim() || mounted.error?.message}`;
    spawnSync('umount', [probe]);
    return null;
  })();
  if (reason) process.stdout.write(`# skipping ${what}: ${reason}\n`);
  return reason;
}

/** A tmpfs mounted with `options` (mount's syntax: `size=2m`, `ro,size=1m`) on a new directory, unmounted after the test. */
export function mountTmpfs(t: TestContext, options: string): string {
  const dir = tempDir('audit-ship-tmpfs-');
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  assert.equal(mounted.status, 0, mounted.stderr?.toString());
  t.after(() => void spawnSync('umount', ['-l', dir]));
  return dir;
}

/** Fills what is left of `dir`'s file system (the write stops at ENOSPC, the bytes before it kept). */
export function fillDisk(dir: string, name = 'filler'): void {
  try {
    writeFileSync(join(dir, name), Buffer.alloc(16 * 1024 * 1024));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  }
}

/** A tmpfs of `kb` KB that someone else's file leaves one page of, unmounted after the test; `makeRoom` removes that file. */
export function onePageFree(t: TestContext, kb: number): { dir: string; makeRoom: () => void } {
  const dir = mountTmpfs(t, `size=${kb}k`);
  writeFileSync(join(dir, 'filler'), Buffer.alloc((kb - 4) * 1024));
  return { dir, makeRoom: () => rmSync(join(dir, 'filler')) };
}
