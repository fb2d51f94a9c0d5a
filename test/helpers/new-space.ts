/**
 * Preloaded into a CLI under test (`NODE_OPTIONS`, see `NEW_SPACE` in test/helpers/cli.ts): as the
 * process exits, it writes the size of V8's new space when the process started and the largest it
 * grew to, as `new-space: START LARGEST` (bytes) on stderr. It runs before the CLI's first module.
 */
import v8 from 'node:v8';

const size = (): number => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;
const start = size();
let largest = start;
// V8 may shrink the new space again when allocation slows, so its size is sampled all along.
const timer = setInterval(() => (largest = Math.max(largest, size())), 1);
timer.unref();

process.on('exit', () => {
  largest = Math.max(largest, size());
  process.stderr.write(`new-space: ${start} ${largest}\n`);
});
