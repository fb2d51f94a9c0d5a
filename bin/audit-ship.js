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
// Thin launcher: all behaviour lives in the compiled CLI so that tests and users run the same code.
// The young generation is held before the CLI's modules are loaded: loading them alone took it
// from 1 to 8 MB, where a hold set later could only keep it (src/ship/young-generation.ts).
import { holdYoungGeneration } from '../dist/src/ship/young-generation.js';

holdYoungGeneration();
const { main } = await import('../dist/src/cli/main.js');
main(process.argv);
