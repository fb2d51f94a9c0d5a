/**
 * Preloaded into a CLI under test (`NODE_OPTIONS`, see `NODE_FLAGS` in test/helpers/cli.ts): as the
 * process exits, it writes its pid and node's command-line flags as `node-flags: JSON` on stderr,
 * so a test can see how the launcher started node.
 */
process.on('exit', () => {
  process.stderr.write(`node-flags: ${JSON.stringify({ pid: process.pid, execArgv: process.execArgv })}\n`);
});
