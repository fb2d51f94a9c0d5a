import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash as nodeCreateHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { createHash, randomBytes, randomUUID } from '../src/crypto.js';
import { tempDir } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';
import { unshareUnavailable } from './helpers/unshare.js';

/** Why /dev/urandom cannot be replaced for a test here, or null when it can. */
const skipMount = unshareUnavailable(['--mount'], 'the /dev/urandom fallback test');

/** A version 4 UUID as crypto.randomUUID() writes it. */
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('randomBytes', () => {
  it('gives the size asked for, across the edges of its pool', () => {
    for (const size of [0, 1, 16, 4095, 4096, 4097, 10_000]) assert.equal(randomBytes(size).length, size);
  });

  it('never hands out the same bytes twice', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20_000; i++) ids.add(randomBytes(16).toString('base64'));
    assert.equal(ids.size, 20_000);
  });

  it('spreads its bytes evenly over every value', () => {
    const counts = new Array<number>(256).fill(0);
    // 256 KiB in pieces that do not divide the pool, so that refills fall mid-request.
    for (let i = 0; i < 1000; i++) for (const b of randomBytes(262)) counts[b]!++;
    const expected = (1000 * 262) / 256;
    // Each count is binomial with a standard deviation of about 32: 8 of them either side never happens by chance.
    for (const [value, count] of counts.entries())
      assert.ok(Math.abs(count - expected) < 256, `byte ${value} came ${count} times, not about ${expected}`);
  });
});

describe('randomBytes without /dev/urandom', () => {
  it('falls back to node:crypto where /dev/urandom ends at once, instead of reading it forever', { skip: skipMount ?? false }, () => {
    const empty = join(tempDir('audit-ship-urandom-'), 'empty');
    writeFileSync(empty, '');
    const module = pathToFileURL(join(ROOT, 'dist', 'src', 'crypto.js')).href;
    const script = `
      const { randomBytes, randomUUID } = await import(${JSON.stringify(module)});
      const drawn = { a: randomBytes(16).toString('hex'), b: randomBytes(16).toString('hex'), uuid: randomUUID() };
      const loaded = process.moduleLoadList.includes('NativeModule crypto');
      console.log(JSON.stringify({ ...drawn, loaded }));
    `;
    // In a mount namespace of its own, an empty file stands at /dev/urandom for this node only.
    const child = spawnSync(
      'unshare',
      ['--mount', 'sh', '-c', 'mount --bind "$0" /dev/urandom && exec "$1" --input-type=module -e "$2"', empty, process.execPath, script],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(child.status, 0, `status ${child.status}, signal ${child.signal}: ${child.stderr}`);
    const out = JSON.parse(child.stdout) as { a: string; b: string; uuid: string; loaded: boolean };
    assert.equal(out.loaded, true, 'the bytes did not come from node:crypto');
    assert.match(out.a, /^[0-9a-f]{32}$/);
    assert.notEqual(out.a, out.b);
    assert.match(out.uuid, UUID_V4);
  });
});

describe('randomUUID', () => {
  it('writes version 4 UUIDs, as crypto.randomUUID() does', () => {
    const uuids = Array.from({ length: 1000 }, randomUUID);
    for (const u of uuids) assert.match(u, UUID_V4);
    assert.equal(new Set(uuids).size, uuids.length);
  });
});

describe('createHash', () => {
  it("is node:crypto's hash", () => {
    assert.equal(createHash('sha256').update('audit').digest('hex'), nodeCreateHash('sha256').update('audit').digest('hex'));
  });
});
