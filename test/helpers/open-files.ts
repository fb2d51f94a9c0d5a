/**
 * Preloaded into a CLI under test (`NODE_OPTIONS`, see `LIST_OPEN_FILES` in test/helpers/cli.ts):
 * as the process exits, it writes each file it still holds open to stderr as `open-file: PATH`. A
 * file handle that nothing closed would otherwise be closed by the garbage collector, or not at
 * all, and no assertion on the outcome would notice. Linux only (/proc/self/fd).
 */
import { readdirSync, readlinkSync } from 'node:fs';

process.on('exit', () => {
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      process.stderr.write(`open-file: ${readlinkSync(`/proc/self/fd/${fd}`)}\n`);
    } catch {
      // the directory listing's own descriptor, already closed
    }
  }
});
