/**
 * An output that is also an input is refused before anything is written: `lint --output` would
 * truncate the log before it is read, `--dead-letter` would append to the log being read. The
 * usual way to get here is a glob after the option (`--output captured/*.jsonl`), which makes the
 * first log the output. Files are compared by device and inode, so a link or another spelling of
 * the same path is caught too.
 */
import { statSync } from 'node:fs';
import { UsageError } from '../errors.js';

/** Throws a UsageError when `output` (if it exists) is the same file as one of `inputs` (null: stdin). */
export function refuseInputAsOutput(option: string, output: string | undefined, inputs: readonly (string | null)[]): void {
  if (output === undefined) return;
  const out = statSync(output, { throwIfNoEntry: false });
  if (!out?.isFile()) return;
  for (const input of inputs) {
    if (input === null) continue;
    const s = statSync(input, { throwIfNoEntry: false });
    if (s?.dev === out.dev && s.ino === out.ino) {
      throw new UsageError(`${option} ${output} is the input ${input}: audit-ship does not write to a log it reads`);
    }
  }
}
