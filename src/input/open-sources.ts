/**
 * Every named input opened up front, so that one that cannot be opened fails the run before
 * anything is read: first with calls that block while they prove quick, then through the thread
 * pool, several at a time, where a cold or remote disk's waits overlap.
 */
import { openFileSource, STDIN, type InputSource } from './sources.js';
import { openStdin } from './stdin.js';

/**
 * Inputs opened at once through the thread pool. Opening one is five round trips to the pool
 * (stat, open, fstat, a read, close), and one after another they held up a backfill of 2,000
 * files for about 0.8 s before its first record.
 */
const OPEN_AT_ONCE = 16;

/**
 * Checks that blocked for longer than this each, on average, found a cold or remote disk: the
 * inputs after them are opened through the thread pool, where their waits overlap.
 */
const SLOW_CHECK_MS = 2;

/**
 * What the first checks may take beyond that: they run code not yet compiled. The first check of
 * a .gz file took 2.5 ms here and the next ones 0.4 to 1.7; judged by the first alone, every one of
 * 2,000 .gz files was checked through the pool.
 */
const WARM_UP_MS = 10;

/**
 * Whether `checks` checks that blocked, `spentMs` in all, found a slow disk: more than `slowCheckMs`
 * each, beyond the warm-up's allowance.
 */
export function checksAreSlow(spentMs: number, checks: number, slowCheckMs = SLOW_CHECK_MS): boolean {
  return spentMs > WARM_UP_MS + slowCheckMs * checks;
}

/**
 * Opens every named input up front (`-` is stdin); none named means stdin. First with calls that
 * block, while they are quick: a round trip to the pool cost about 50 µs of CPU on this machine's
 * two cores, 0.25 ms a file, where the calls themselves take a few µs on inodes and first pages in
 * the cache. 2,000 files took 185 to 220 ms and 230 to 290 ms of CPU to check, 16 at a time; 32 to
 * 37 ms and 48 ms with calls that block (from a cold cache on this machine's disk: 196 to 208 ms
 * against 227 to 232).
 */
export async function openSources(names: readonly string[], slowCheckMs = SLOW_CHECK_MS): Promise<InputSource[]> {
  if (names.length === 0) return [openStdin()];
  const sources: InputSource[] = new Array<InputSource>(names.length);
  let index = 0;
  const started = performance.now();
  while (index < names.length) {
    const name = names[index]!;
    // The first that cannot be opened is the first in the order given.
    sources[index++] = name === STDIN ? openStdin() : await openFileSource(name, true);
    if (checksAreSlow(performance.now() - started, index, slowCheckMs)) break;
  }
  if (index < names.length) await openInTurns(names, index, sources);
  return sources;
}

/** Opens the inputs from `from` on through the thread pool, OPEN_AT_ONCE at a time, into `sources`. */
async function openInTurns(names: readonly string[], from: number, sources: InputSource[]): Promise<void> {
  // The first input that cannot be opened, in the order given, is the one reported.
  const first = { failed: names.length, error: undefined as unknown };
  let next = from;
  const opener = async () => {
    for (let index = next++; index < names.length && index < first.failed; index = next++) {
      try {
        const name = names[index]!;
        sources[index] = name === STDIN ? openStdin() : await openFileSource(name);
      } catch (error) {
        if (index < first.failed) Object.assign(first, { failed: index, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPEN_AT_ONCE, names.length - from) }, opener));
  if (first.failed < names.length) throw first.error;
}
