import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { FluentServer } from '@fluent-org/logger';
import { sampleLines } from '../../src/sample/generate.js';
import { holdYoungGeneration, workerResourceLimits } from '../../src/ship/young-generation.js';
import { NEW_SPACE, newSpace, runCli } from '../helpers/cli.js';
import { jsonSummary } from '../helpers/ship-cli.js';
import { ROOT } from '../helpers/paths.js';

const MODULE = pathToFileURL(join(ROOT, 'dist', 'src', 'ship', 'young-generation.js')).href;

/**
 * Allocates as a backfill does, many short-lived objects and some that survive a scavenge, with
 * `v8` in scope; leaves the new space's size at the start and the largest it grew to in `start`
 * and `largest`.
 */
const ALLOCATE = `
  const size = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
  const start = size();
  let largest = start;
  let kept = [];
  for (let i = 0; i < 2e6; i++) {
    kept.push({ i });
    if (kept.length >= 100000) kept = [];
    if ((i & 1023) === 0) largest = Math.max(largest, size());
  }
`;

/** The allocation in a fresh node, after holdYoungGeneration() when `hold`. */
function youngGenerationGrowth(hold: boolean, env: NodeJS.ProcessEnv = {}): { start: number; largest: number; held: boolean } {
  const script = `
    import v8 from 'node:v8';
    import { holdYoungGeneration } from ${JSON.stringify(MODULE)};
    const held = ${hold} ? holdYoungGeneration() : false;
    ${ALLOCATE}
    console.log(JSON.stringify({ start, largest, held }));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', ...env },
  });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as { start: number; largest: number; held: boolean };
}

describe('holdYoungGeneration', () => {
  it('keeps the young generation near its starting size, where V8 alone grows it many times over', () => {
    const alone = youngGenerationGrowth(false);
    assert.ok(alone.largest >= 8 * alone.start, `without it the new space grew from ${alone.start} to ${alone.largest} bytes only`);
    const held = youngGenerationGrowth(true);
    assert.equal(held.held, true);
    assert.ok(held.largest <= 2 * held.start, `held, the new space still grew from ${held.start} to ${held.largest} bytes`);
  });

  it('leaves V8 alone when node was given a young-generation flag of its own', () => {
    assert.equal(holdYoungGeneration(['--max-semi-space-size=8'], ''), false);
    assert.equal(holdYoungGeneration([], '--max_semi_space_size=8 --trace-warnings'), false);
    assert.equal(holdYoungGeneration([], '--min-semi-space-size=4'), false);
    assert.equal(holdYoungGeneration(['--semi-space-growth-factor=4'], ''), false);
    const own = youngGenerationGrowth(true, { NODE_OPTIONS: '--max-semi-space-size=16' });
    assert.equal(own.held, false);
    assert.ok(own.largest >= 8 * own.start, `with the user's flag the new space grew from ${own.start} to ${own.largest} bytes only`);
  });

  it('is held by the CLI before its modules load, for ship and lint alike', async (t) => {
    const server = new FluentServer({ listenOptions: { port: 0, host: '127.0.0.1' } });
    t.after(() => server.close());
    await server.listen();
    const input = [...sampleLines(5000, { seed: 17, start: 1632312000 })].join('');
    const ship = await runCli(['--port', String(server.port), '--summary', 'json', '--no-progress'], {
      input,
      env: { NODE_OPTIONS: NEW_SPACE },
    });
    assert.equal(ship.code, 0, ship.stderr);
    assert.equal(jsonSummary(ship.stderr).recordsAcked, 5000);
    const lint = await runCli(['lint'], { input, env: { NODE_OPTIONS: NEW_SPACE } });
    assert.equal(lint.code, 0, lint.stderr);
    for (const [command, run] of [
      ['ship', ship],
      ['lint', lint],
    ] as const) {
      const { start, largest } = newSpace(run.stderr);
      assert.ok(largest <= 2 * start, `${command}: the new space grew from ${start} to ${largest} bytes`);
    }
    // The same measure sees the growth that loading the CLI alone causes when V8 is left to it.
    const own = await runCli(['lint'], { input, env: { NODE_OPTIONS: `${NEW_SPACE} --max-semi-space-size=16` } });
    const grown = newSpace(own.stderr);
    assert.ok(
      grown.largest >= 4 * grown.start,
      `with the user's flag the new space grew from ${grown.start} to ${grown.largest} bytes only`,
    );
  });

  it("keeps a reading worker's young generation as small, unless node was given a flag of its own", async () => {
    const limits = workerResourceLimits([], '');
    assert.ok(limits);
    const alone = await workerGrowth(undefined);
    assert.ok(
      alone.largest >= 8 * alone.start,
      `without limits a worker's new space grew from ${alone.start} to ${alone.largest} bytes only`,
    );
    const held = await workerGrowth(limits);
    assert.ok(held.largest <= 2 * held.start, `held, a worker's new space still grew from ${held.start} to ${held.largest} bytes`);
    assert.equal(workerResourceLimits([], '--max-semi-space-size=16'), undefined);
  });
});

/** The same allocation in a worker thread started with `limits`. */
async function workerGrowth(limits: ResourceLimits | undefined): Promise<{ start: number; largest: number }> {
  const code = `
    const v8 = require('node:v8');
    const { parentPort } = require('node:worker_threads');
    ${ALLOCATE}
    parentPort.postMessage({ start, largest });
  `;
  const worker = new Worker(code, { eval: true, ...(limits ? { resourceLimits: limits } : {}) });
  const [growth] = (await once(worker, 'message')) as [{ start: number; largest: number }];
  await worker.terminate();
  return growth;
}
