/**
 * Detects the prefixes that `kubectl logs` puts before each line, so that captured logs lint and ship
 * as they are: `--prefix` adds `[pod/NAME/CONTAINER] `, `--timestamps` adds an RFC 3339 time and a
 * space (`2021-09-22T12:18:19.269456495Z `). With both, the pod prefix comes first.
 */

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const SPACE = 0x20;
const POD_PREFIX = Buffer.from('[pod/');
/** `2021-09-22T12:18:19Z` is the shortest timestamp kubectl writes; 9 fractional digits the longest. */
const MIN_TIMESTAMP = 20;
const MAX_TIMESTAMP = 36;

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= 0x30 && b <= 0x39;
}

function podPrefixEnd(line: Buffer, from: number): number {
  if (line[from] !== OPEN_BRACKET || !line.subarray(from, from + POD_PREFIX.length).equals(POD_PREFIX)) return from;
  const close = line.indexOf(CLOSE_BRACKET, from);
  if (close < 0 || line[close + 1] !== SPACE) return from;
  for (let i = from; i < close; i++) if (line[i] === SPACE) return from;
  return close + 2;
}

/** The shape `DDDD-DD-DDTDD:DD:DD[.D…](Z|±HH:MM)` followed by a space; calendar checks are not needed here. */
function timestampPrefixEnd(line: Buffer, from: number): number {
  if (!isDigit(line[from]) || line[from + 4] !== 0x2d || line[from + 10] !== 0x54) return from;
  const limit = Math.min(line.length, from + MAX_TIMESTAMP + 1);
  for (let i = from + MIN_TIMESTAMP - 1; i < limit; i++) {
    if (line[i] === SPACE) return i + 1;
  }
  return from;
}

/** Where the log payload starts once any kubectl prefixes are skipped (0 when there are none). */
export function kubectlPayloadOffset(line: Buffer): number {
  return timestampPrefixEnd(line, podPrefixEnd(line, 0));
}
