/** Parsers for option values; a bad value is a usage error naming the option and what it takes. */
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

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** Byte sizes as `4194304`, `512k`, `4m`, `1g` (binary units). */
export function byteSize(min: number): (value: string) => number {
  return (value) => {
    const m = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
    const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
    const n = m && unit !== undefined ? Number(m[1]) * unit : NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected a size >= ${min} bytes, like 512k or 4m.`);
    return n;
  };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Durations as `500ms`, `5s`, `2m`, `1h`; a bare number is seconds. */
export function duration(min = 0): (value: string) => number {
  return (value) => {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(value.trim());
    const ms = m ? Number(m[1]) * DURATION_UNITS[m[2] ?? 's']! : NaN;
    if (!Number.isFinite(ms) || ms < min) throw new InvalidArgumentError(`expected a duration like 500ms, 5s or 2m (at least ${min} ms).`);
    return Math.round(ms);
  };
}

/**
 * Collects a repeatable option; commas also separate values (`--host a,b`). Commander hands the
 * default in as `previous` on the first use, so the first value given replaces the default
 * instead of being appended to it.
 */
export function listReplacing(defaults: readonly string[]): (value: string, previous: string[] | undefined) => string[] {
  return (value, previous) => [...(previous === undefined || previous === defaults ? [] : previous), ...value.split(',').map((v) => v.trim()).filter(Boolean)];
}
