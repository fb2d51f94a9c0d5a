/**
 * Parsers for option values; a bad value is a usage error naming the option and what it takes,
 * raised while the command line is parsed, before any input is read. One syntax for durations and
 * one for sizes serves every option (docs/ship.md describes them once, under the options).
 */
import { InvalidArgumentError } from 'commander';

export function integer(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`expected a whole number ${range}.`);
    }
    return n;
  };
}

const KIB = 1024;
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: KIB,
  kb: KIB,
  kib: KIB,
  m: KIB ** 2,
  mb: KIB ** 2,
  mib: KIB ** 2,
  g: KIB ** 3,
  gb: KIB ** 3,
  gib: KIB ** 3,
  t: KIB ** 4,
  tb: KIB ** 4,
  tib: KIB ** 4,
};

/** `4194304`, `512k`, `1.5m`, `2g` (binary units: k = 1024; `kb` and `kib` say the same). */
export function parseSize(value: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return null;
  const n = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(n) ? n : null;
}

export function formatSize(bytes: number): string {
  for (const [unit, size] of [
    ['g', KIB ** 3],
    ['m', KIB ** 2],
    ['k', KIB],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}`;
}

/** A size from `min` to `max` bytes. */
export function byteSize(min: number, max: number = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = parseSize(value);
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${formatSize(min)}` : `from ${formatSize(min)} to ${formatSize(max)}`;
    if (n === null || n < min || n > max) {
      throw new InvalidArgumentError(`expected a size ${range}, like ${examples(['512k', '1.5m', '2g'], parseSize, min, max)}.`);
    }
    return n;
  };
}

/** The examples an error gives, those of them in range only: `a, b or c`. */
function examples(all: string[], parse: (value: string) => number | null, min: number, max: number): string {
  const fit = all.filter((e) => {
    const n = parse(e)!;
    return n >= min && n <= max;
  });
  const shown = fit.length > 0 ? fit : [all[0]!];
  return shown.length === 1 ? shown[0]! : `${shown.slice(0, -1).join(', ')} or ${shown.at(-1)}`;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** The longest delay a Node.js timer takes; a longer one would fire at once. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** `250ms`, `30s`, `5m`, `2h`, `1d`, decimals allowed (`1.5s`); a bare number is seconds. In ms, or null. */
export function parseDuration(value: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) return null;
  const ms = Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? 's']!);
  return Number.isFinite(ms) ? ms : null;
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A duration from `min` ms to `max` ms (at most about 24 days, what a timer can wait). */
export function duration(min = 0, max = MAX_DURATION_MS): (value: string) => number {
  return (value) => {
    const ms = parseDuration(value);
    if (ms === null || ms < min || ms > max) {
      // The timer's limit is no round number: said as the round one just under it.
      const upTo = max === MAX_DURATION_MS ? '24.8d' : formatDuration(max);
      const like = examples(['250ms', '30s', '5m', '2h', '1d'], parseDuration, min, max);
      throw new InvalidArgumentError(`expected a duration from ${formatDuration(min)} to ${upTo}, like ${like}.`);
    }
    return ms;
  };
}

/** `--max-invalid`: a count of lines (`100`) or a share of the audit records read (`0.5%`). */
export type InvalidAllowance = { count: number } | { percent: number };

export function invalidAllowance(value: string): InvalidAllowance {
  const text = value.trim();
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (percent && Number(percent[1]) <= 100) return { percent: Number(percent[1]) };
  if (/^\d+$/.test(text) && Number.isSafeInteger(Number(text))) return { count: Number(text) };
  throw new InvalidArgumentError('expected a number of lines (100) or a percentage of the records read (0.5%).');
}

/** How many invalid lines the allowance accepts among `records` audit records. */
export function invalidAllowed(allowance: InvalidAllowance, records: number): number {
  return 'count' in allowance ? allowance.count : Math.floor((allowance.percent / 100) * records);
}

/**
 * Collects a repeatable option; commas also separate values (`--host a,b`). Commander hands the
 * default in as `previous` on the first use, so the first value given replaces the default
 * instead of being appended to it.
 */
export function listReplacing(defaults: readonly string[]): (value: string, previous: string[] | undefined) => string[] {
  return (value, previous) => [
    ...(previous === undefined || previous === defaults ? [] : previous),
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ];
}

/**
 * A value that must name something (a path, a tag): an empty one (`--checkpoint ''`, or an
 * environment variable set empty) once ran the whole input before failing on it, leaving `.tmp`
 * and `.lock` files in the working directory. `give` says what to give instead; `empty` what an
 * empty one is.
 */
export function nonEmpty(give: string, empty = 'an empty value names nothing'): (value: string) => string {
  return (value) => {
    if (value === '') throw new InvalidArgumentError(`${empty}; give ${give}.`);
    return value;
  };
}
