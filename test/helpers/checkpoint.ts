/** What a test checks of a `--checkpoint` file once a run has read its files to their ends, and a cron job's scene. */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from './cli.js';

/**
 * A cron job's scene: a log directory, a checkpoint kept apart from it, and the command that ships
 * the directory to the receiver on `port` with that checkpoint.
 */
export function cronJob(port: number): { dir: string; checkpoint: string; args: string[] } {
  const dir = tempDir('audit-ship-cron-');
  const checkpoint = join(tempDir('audit-ship-cron-state-'), 'checkpoint.json');
  return { dir, checkpoint, args: ['--port', String(port), '--checkpoint', checkpoint, dir] };
}

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
  // One line for them all, not one a file: a cron job finds hundreds of them every run.
  assert.doesNotMatch(again.stderr, /: already shipped/);
  const json = again.stderr.split('\n').find((line) => line.startsWith('{'));
  if (json) assert.equal((JSON.parse(json) as { filesAlreadyShipped: number }).filesAlreadyShipped, files.length);
  else assert.match(again.stderr, new RegExp(`\\n${files.length} files? already shipped to the end \\(checkpoint\\), skipped\\n`));
  assert.equal(received(), total);
}
