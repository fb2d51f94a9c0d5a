/**
 * Preloaded into a CLI under test (`NODE_OPTIONS`, see `LIST_BUILTINS` in test/helpers/cli.ts):
 * as the process exits, it writes each of node's public modules the process loaded as
 * `builtin: NAME` on stderr. Each costs memory and start-up time, so a test can check that a run
 * loads only what it uses.
 */
process.on('exit', () => {
  for (const entry of (process as unknown as { moduleLoadList: string[] }).moduleLoadList) {
    const name = /^NativeModule (.+)$/.exec(entry)?.[1];
    if (name && !name.startsWith('internal/')) process.stderr.write(`builtin: ${name}\n`);
  }
});
