/**
 * "Did you mean": a mistyped command (`audit-ship lnit FILE`) would otherwise be taken for a file
 * name by the default command, and fail on a missing file or, worse, ship a file of that name.
 */

/** Edits (insert, delete, substitute, swap two neighbours) between two words. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The command a bare word was probably meant to be, or null. Only words that look like a command
 * (letters and dashes: no dot, no slash) are judged, so `./lnit` or `app.log` are always files.
 */
export function mistypedCommand(word: string, commands: readonly string[]): string | null {
  if (!/^[a-z][a-z-]*$/i.test(word) || commands.includes(word)) return null;
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const command of commands) {
    const distance = editDistance(word.toLowerCase(), command);
    if (distance < bestDistance) [best, bestDistance] = [command, distance];
  }
  return best !== null && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : null;
}

/** At most this many options are named in a hint: more would be the help, not a hint. */
const MAX_OPTION_HINTS = 4;

/**
 * Commander suggests an option only a few edits away, so `--spool` (for `--spool-dir`) or `--retry`
 * (for `--retry-timeout`) got no hint at all. Its message for an unknown option, when it has no
 * suggestion of its own, gains the options that the word begins.
 */
export function withOptionHint(message: string, options: readonly string[]): string {
  const unknown = /^error: unknown option '(--[^'=]+)(?:=[^']*)?'\n$/.exec(message);
  if (!unknown) return message;
  const typed = unknown[1]!.toLowerCase();
  const begun = options.filter((o) => o.startsWith(typed) && o !== typed);
  if (begun.length === 0 || begun.length > MAX_OPTION_HINTS) return message;
  const list = begun.length === 1 ? begun[0] : `one of ${begun.join(', ')}`;
  return `${message.trimEnd()}\n(Did you mean ${list}?)\n`;
}
