/**
 * Tests that need a namespace of their own (root, util-linux unshare) run here as root and are
 * skipped elsewhere, with the reason printed.
 */
import { spawnSync } from 'node:child_process';

/**
 * Why `unshare FLAGS true` cannot run here, or null when it can: `what` names the tests that would
 * be skipped, and the reason is printed for them.
 */
export function unshareUnavailable(flags: string[], what: string): string | null {
  const reason = (() => {
    if (process.getuid?.() !== 0) return `needs root for unshare ${flags[0]}`;
    const probe = spawnSync('unshare', [...flags, 'true']);
    return probe.status === 0 ? null : `unshare ${flags[0]} failed: ${probe.stderr?.toString().trim() || probe.error?.message}`;
  })();
  if (reason) process.stdout.write(`# skipping ${what}: ${reason}\n`);
  return reason;
}
