/** The README's reference tables say what the code does: a test fails when they drift apart. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT_CODES } from '../../src/cli/exit.js';
import { ROOT } from '../helpers/paths.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The rows of the first table after `heading`, as arrays of cells. */
function tableAfter(heading: string): string[][] {
  const start = readme.indexOf(`\n${heading}\n`);
  assert.notEqual(start, -1, `README has a "${heading}" section`);
  const lines = readme.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.slice(1, -1).split(' | ').map((c) => c.trim()));
  }
  return rows;
}

describe('README', () => {
  it('gives every exit code, with the meaning src/cli/exit.ts gives it, and no other', () => {
    const rows = tableAfter('#### Exit status');
    assert.deepEqual(rows.map(([code, meaning]) => ({ code: Number(code), meaning })), EXIT_CODES.map(({ code, meaning }) => ({ code, meaning })));
  });

  it('names an existing test for every guarantee', () => {
    for (const [promise, proof] of tableAfter('## Guarantees')) {
      const files = [...(proof ?? '').matchAll(/`((?:test|bench)\/[^`*]+\.ts)`/g)].map((m) => m[1]!);
      assert.ok(files.length > 0, `no test named for: ${promise}`);
      for (const file of files) assert.doesNotThrow(() => readFileSync(join(ROOT, file)), `${file} exists`);
    }
  });
});
