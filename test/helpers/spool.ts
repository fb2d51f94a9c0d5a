/** Spools as the spool tests open them, and one left as a process that died holds it. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SpoolOptions } from '../../src/spool/spool.js';

/** A 64 MB spool that blocks when full and fsyncs each chunk, with whatever `extra` changes. */
export function spoolOptions(dir: string, extra: Partial<SpoolOptions> = {}): SpoolOptions {
  return { dir, maxBytes: 64 * 1024 * 1024, overflow: 'block', fsync: 'always', ...extra };
}

/** Writes the spool's lock as held by a process that is gone (one that has exited), as a SIGKILL leaves it. */
export function lockOfGoneProcess(dir: string): void {
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  writeFileSync(join(dir, 'lock'), `${dead}\n`);
}
