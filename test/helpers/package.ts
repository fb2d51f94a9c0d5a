/**
 * The package as `npm pack` makes it (prepack: the build, then scripts/bundle.mjs), made in a copy
 * of the tree: the repository's own dist must stay as the tests' build left it, since the other
 * tests run its compiled modules meanwhile, and a bundle there would be run in their place.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './cli.js';
import { ROOT } from './paths.js';

/** What the package is made from: the manifest, the launcher, the compiled modules, the texts it ships. */
const SOURCES = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'bin', join('dist', 'src')];

let tree: string | null = null;

/** A copy of the tree with the bundle made in it, once a process; its node_modules is the repository's. */
export function bundledTree(): string {
  if (tree) return tree;
  const dir = tempDir('audit-ship-package-');
  mkdirSync(join(dir, 'dist'));
  for (const source of SOURCES) cpSync(join(ROOT, source), join(dir, source), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs'), dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  return (tree = dir);
}
