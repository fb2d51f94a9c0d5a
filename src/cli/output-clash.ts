/**
 * Outputs that would destroy what they must not, refused before anything is written. An output
 * that is also an input: `lint --output` would truncate the log before it is read, `--dead-letter`
 * would append to the log being read; the usual way to get there is a glob after the option
 * (`--output captured/*.jsonl`), which makes the first log the output. Two options naming one
 * file: the checkpoint, replaced whole on every save, would wipe the dead letters appended to it.
 * Files are compared by device and inode, so a link or another spelling of the path is caught too.
 */
import { fstatSync, statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';

/**
 * Throws a UsageError when one of `outputs` (those that exist) is the same file as one of `inputs`;
 * null stands for stdin, which may be a file redirected (`< app.jsonl`). Each input is looked at
 * once, however many outputs there are, and not at all when no output exists yet.
 */
export function refuseInputsAsOutputs(
  outputs: readonly (readonly [option: string, path: string | undefined])[],
  inputs: readonly (string | null)[],
): void {
  const existing: { option: string; path: string; stats: Stats }[] = [];
  for (const [option, path] of outputs) {
    if (path === undefined) continue;
    const stats = statOf(path);
    if (stats?.isFile()) existing.push({ option, path, stats });
  }
  if (existing.length === 0) return;
  for (const input of inputs) {
    const s = input === null ? stdinFile() : statOf(input);
    const out = s && existing.find((o) => o.stats.dev === s.dev && o.stats.ino === s.ino);
    if (out) {
      const name = input === null ? 'the file on stdin' : `the input ${input}`;
      throw new UsageError(`${out.option} ${out.path} is ${name}: audit-ship does not write to a log it reads`);
    }
  }
}

/**
 * The file at `path`, or undefined when there is none or it cannot be looked at (EACCES): then
 * opening it fails too, with the error said where it is opened.
 */
export function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** What stdin reads, when it is a file; undefined for a pipe, a terminal or a closed descriptor. */
function stdinFile(): Stats | undefined {
  try {
    const s = fstatSync(0);
    return s.isFile() ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Throws a UsageError when two options name the same file (the same path, or a link to it). */
export function refuseSameFile(a: [option: string, path: string | undefined], b: [option: string, path: string | undefined]): void {
  const [optionA, pathA] = a;
  const [optionB, pathB] = b;
  if (pathA === undefined || pathB === undefined) return;
  const statA = statOf(pathA);
  const statB = statOf(pathB);
  const same = resolve(pathA) === resolve(pathB) || (statA !== undefined && statA.dev === statB?.dev && statA.ino === statB.ino);
  if (same) throw new UsageError(`${optionA} and ${optionB} both name ${pathA}: each needs a file of its own`);
}
