/**
 * What a reading worker (--workers) loads when it starts: every worker pays for its modules again,
 * in a V8 heap of its own, so it loads only what reading, validating and encoding need. The npm
 * packages it loads are read from the CommonJS cache of its own thread, where a package imported
 * from ESM is kept too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { DEFAULT_CHUNK_LIMITS } from '../../src/forward/chunk-limits.js';
import { packageName } from '../helpers/package-name.js';

/** The npm packages in the CommonJS cache of a new thread once it has imported `module`. */
async function packagesLoadedBy(module: URL, workerData: unknown): Promise<string[]> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(module.href)}).then(
      () => parentPort.postMessage(Object.keys(require.cache)),
      (error) => parentPort.postMessage({ error: String(error) }),
    );
  `;
  const worker = new Worker(code, { eval: true, workerData });
  try {
    const answer = await new Promise<unknown>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (!Array.isArray(answer)) throw new Error(`the thread could not import ${module.href}: ${JSON.stringify(answer)}`);
    const names = (answer as string[]).map(packageName).filter((name) => name !== undefined);
    return [...new Set(names)].sort();
  } finally {
    await worker.terminate();
  }
}

describe('a reading worker', () => {
  it('loads no npm package: it encodes records and chunks itself, without the msgpack library', async () => {
    const packages = await packagesLoadedBy(new URL('../../src/ship/worker.js', import.meta.url), { chunkLimits: DEFAULT_CHUNK_LIMITS });
    assert.deepEqual(packages, []);
  });

  it('would be seen loading one: the forward protocol loads @msgpack/msgpack', async () => {
    const packages = await packagesLoadedBy(new URL('../../src/forward/protocol.js', import.meta.url), null);
    assert.deepEqual(packages, ['@msgpack/msgpack']);
  });
});
