/** Paths into the repository, from compiled tests (dist/test/...) as well as from sources. */
import { readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'audit-ship') return dir;
    } catch {
      // not here; keep climbing
    }
    const parent = resolve(dir, '..');
    if (parent === dir) throw new Error('repository root not found');
    dir = parent;
  }
}

export const ROOT = findRoot();
export const CLI = join(ROOT, 'bin', 'audit-ship.js');
/** PATH with this node first: the launcher, run as a command, starts the `node` it finds there. */
export const THIS_NODE_FIRST = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;
export const fixture = (name: string): string => join(ROOT, 'test', 'fixtures', name);

export interface FixtureCase {
  case: string;
  code?: string;
  record: Record<string, unknown>;
}

export function readCases(name: string): FixtureCase[] {
  return readFileSync(fixture(name), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as FixtureCase);
}

export function seedExample(): Record<string, unknown> {
  return JSON.parse(readFileSync(fixture('seed-example.json'), 'utf8')) as Record<string, unknown>;
}
