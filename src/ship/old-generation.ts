/**
 * Collects V8's old generation now and then while lines are read. Chunks in flight live long
 * enough to be promoted out of the young generation (held small: src/ship/young-generation.ts),
 * and V8 collects the old generation only once it reaches a limit it sets well above the live
 * heap: one full collection in the first 20 s of a backfill. So a backfill's peak RSS grew with
 * its length while its live heap stayed at 8 MB: 62.7 MB for 200,000 records, 64.3 for 2 million,
 * 71.4 for 16 million and still rising. A full collection every 5 s, when at least 50,000 lines
 * were read since the last, held 16 million records at 65.8 MB, at the same CPU (one takes a few
 * milliseconds). node has no call for one: `--expose-gc`, set for a moment at run time, gives the
 * function to a new context (node:vm).
 */
import v8 from 'node:v8';
import vm from 'node:vm';

const EVERY_MS = 5000;
const MIN_LINES = 50_000;

let fullCollection: (() => void) | null | undefined;

/** V8's full collection, or null where it cannot be had. */
function collector(): (() => void) | null {
  if (fullCollection !== undefined) return fullCollection;
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === 'function') return (fullCollection = own as () => void);
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    fullCollection = typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    fullCollection = null;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
  return fullCollection;
}

/**
 * Runs a full collection every `everyMs` while `linesRead()` moved on by `minLines` since the last;
 * none for an idle tail, whose allocations V8's own idle-time collection takes care of. Returns the
 * function that stops it. `collect` gives the collection (V8's, by default).
 */
export function collectOldGeneration(
  linesRead: () => number,
  everyMs = EVERY_MS,
  minLines = MIN_LINES,
  collect: () => (() => void) | null = collector,
): () => void {
  let last = linesRead();
  const timer = setInterval(() => {
    const now = linesRead();
    if (now - last < minLines) return;
    last = now;
    // Got at the first collection, not before: the context that gives it costs memory, which a
    // short run, done before the first, does not need to pay.
    const gc = collect();
    if (gc) gc();
    else clearInterval(timer);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
