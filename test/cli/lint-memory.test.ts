/**
 * Memory stays flat whatever the input size: 1 GB of records (with over-long lines among them)
 * piped through `lint` must peak well under a fixed bound. The CLI reports its own peak RSS.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { it } from 'node:test';
import { sampleLines } from '../../src/sample/generate.js';
import { CLI } from '../helpers/paths.js';

const TOTAL_BYTES = 1024 ** 3;
const PEAK_RSS_LIMIT = 150 * 1024 * 1024;

it('lint keeps peak RSS under 150 MB on 1 GB of input', async () => {
  const block = Buffer.from([...sampleLines(4000, { seed: 3, start: 1632312000 })].join(''));
  const longLine = Buffer.from(`${'x'.repeat(6 * 1024 * 1024)}\n`);
  const child = spawn(process.execPath, [CLI, 'lint', '--summary', 'json', '--format', 'json'], { stdio: ['pipe', 'ignore', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (c: Buffer) => stderr.push(c));
  let written = 0;
  let blocks = 0;
  while (written < TOTAL_BYTES) {
    const chunk = ++blocks % 25 === 0 ? longLine : block;
    if (!child.stdin.write(chunk)) await once(child.stdin, 'drain');
    written += chunk.length;
  }
  child.stdin.end();
  const [code] = (await once(child, 'close')) as [number];
  const summary = JSON.parse(Buffer.concat(stderr).toString()) as { bytes: number; peakRssBytes: number; errors: number };
  assert.equal(code, 1, 'the over-long lines are errors');
  assert.equal(summary.bytes, written);
  assert.equal(summary.errors, Math.floor(blocks / 25));
  assert.ok(summary.peakRssBytes < PEAK_RSS_LIMIT, `peak RSS ${summary.peakRssBytes} bytes`);
});
