#!/usr/bin/env node
// Thin launcher: all behaviour lives in the compiled CLI so that tests and users run the same code.
// The young generation is held before the CLI's modules are loaded: loading them alone took it
// from 1 to 8 MB, where a hold set later could only keep it (src/ship/young-generation.ts).
import { holdYoungGeneration } from '../dist/src/ship/young-generation.js';

holdYoungGeneration();
const { main } = await import('../dist/src/cli/main.js');
main(process.argv);
