/** What a test checks of a `--checkpoint` file once a run has read its files to their ends. */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { runCli } from './cli.js';

/**
 * Each of `files` is marked done in `checkpoint` at its size, after `lines` lines; the same command
 * (`args`), run again, finds every one of them shipped and sends nothing: the receiver still holds
 * `received()` = `total` records.
 */
export async function assertDoneThenSkipped(
  args: string[],
  checkpoint: string,
  files: string[],
  lines: number,
  received: () => number,
  total: number,
): Promise<void> {
  const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as {
    files: Record<string, { line: number; offset: number; done: boolean }>;
  };
  assert.deepEqual(
    files.map((file) => [saved.files[file]?.done, saved.files[file]?.line, saved.files[file]?.offset]),
    files.map((file) => [true, lines, statSync(file).size]),
  );
  const again = await runCli(args);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stderr.match(/already shipped \(checkpoint\), skipped/g)?.length, files.length);
  assert.equal(received(), total);
}
