// Bundles the compiled CLI (dist/src, from `npm run build`) and the packages it uses into
// dist/bundle, the form the package and the image ship: a run starts in about 50 ms less CPU than
// when node resolves, reads and compiles its modules one by one (a ship run opens 109 of them, 34
// files of the bundle; docs/performance.md#start-up). Code loaded only by some runs (ship's
// pipeline, the kubectl input, metrics, the worker threads, the terminal's colours and spinner)
// stays in chunks of its own, imported as the modules were.
//
//   node scripts/bundle.mjs [root]   root: the package directory (default: this one)
//
// Beside the bundle, THIRD-PARTY-NOTICES.md carries the licence of every package bundled.
import { build } from 'esbuild';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? '.');
const compiled = join(root, 'dist', 'src');
const out = join(root, 'dist', 'bundle');
if (!existsSync(join(compiled, 'cli', 'main.js'))) {
  console.error(`bundle: ${compiled}/cli/main.js is missing; run \`npm run build\` first`);
  process.exit(1);
}
rmSync(out, { recursive: true, force: true });

const { metafile } = await build({
  // Names the launcher and src/ship/parallel.ts look for: a chunk sits in dist/bundle, beside
  // worker.js, as src/ship/parallel.js sits beside src/ship/worker.js; and two levels under the
  // package, as every compiled module is, so src/version.ts finds package.json the same way.
  entryPoints: {
    main: join(compiled, 'cli', 'main.js'),
    worker: join(compiled, 'ship', 'worker.js'),
    'young-generation': join(compiled, 'ship', 'young-generation.js'),
  },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Less to parse at every start; names are kept, so a stack trace still names the functions.
  minifyWhitespace: true,
  minifySyntax: true,
  // The packages written as CommonJS call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __auditShipRequire } from 'node:module'; const require = __auditShipRequire(import.meta.url);" },
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

writeFileSync(join(out, 'THIRD-PARTY-NOTICES.md'), notices(Object.keys(metafile.inputs)));

/** The licence text of every package with code in the bundle, from its own directory. */
function notices(inputs) {
  const packages = new Map();
  for (const input of inputs) {
    const at = input.lastIndexOf('node_modules/');
    if (at < 0) continue;
    const rest = input.slice(at + 'node_modules/'.length).split('/');
    const name = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    packages.set(name, join(resolve(input.slice(0, at + 'node_modules/'.length)), name));
  }
  const parts = ['# Third-party notices\n\naudit-ship bundles the following packages (dist/bundle). Their licences follow.\n'];
  for (const [name, dir] of [...packages].sort(([a], [b]) => a.localeCompare(b))) {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)([-.][\w.-]*)?$/i.test(f));
    if (!file) throw new Error(`bundle: ${name} has no licence file in ${dir}`);
    parts.push(`## ${name} ${manifest.version} (${manifest.license})\n\n\`\`\`\n${readFileSync(join(dir, file), 'utf8').trim()}\n\`\`\`\n`);
  }
  return parts.join('\n');
}
