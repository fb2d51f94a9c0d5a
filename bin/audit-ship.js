#!/bin/sh
':' // ; exec node --no-concurrent-recompilation "$0" "$@"
// The two lines above are for the shell that runs this file as a command: it starts node with a
// flag of node's own, in place of itself (same process), on this same file. To node the second
// line is a string and a comment, so `node bin/audit-ship.js` runs it too, with node's defaults.
//
// --no-concurrent-recompilation: V8 compiles optimised code on the main thread instead of its
// compiler threads, whose memory stays resident after their jobs; a backfill peaks about 2 MB
// lower, for no less speed and about 5% less CPU (docs/performance.md). A script's `#!` line can
// pass node one argument only and NODE_OPTIONS does not take this flag, hence the shell.
//
// Thin launcher: all behaviour lives in the compiled CLI. The package and the image run it as one
// bundle (dist/bundle, made by scripts/bundle.mjs from the compiled modules), which starts in
// about 50 ms less CPU than the modules one by one; a checkout built with `npm run build` has no
// bundle and runs the modules, as the tests do.
// The young generation is held before the CLI's modules are loaded: loading them alone took it
// from 1 to 8 MB, where a hold set later could only keep it (src/ship/young-generation.ts).
import { existsSync } from 'node:fs';

const bundled = existsSync(new URL('../dist/bundle/main.js', import.meta.url));
const { holdYoungGeneration } = await import(bundled ? '../dist/bundle/young-generation.js' : '../dist/src/ship/young-generation.js');
holdYoungGeneration();
const { main } = await import(bundled ? '../dist/bundle/main.js' : '../dist/src/cli/main.js');
main(process.argv);
