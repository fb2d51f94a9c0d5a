#!/usr/bin/env node
// Thin launcher: all behaviour lives in the compiled CLI so that tests and users run the same code.
import { main } from '../dist/src/cli/main.js';

main(process.argv);
