/**
 * Keys written twice in one object. JSON.parse keeps the last value of such a key, and so do
 * Fluentd and most other readers, so the first one is neither checked nor shipped: a record
 * carrying `"User":"alice", … "User":null` would pass in silence with its earlier value gone.
 * JSON.parse leaves no trace of the first, so the text is walked again, only on the full path
 * (the fast path declines any line with a duplicate key).
 */
import { diagnostic, itemPath, keyPath, type Diagnostic } from './diagnostic.js';

/**
 * Objects and arrays deeper than this are not looked into (nor by the `__proto__` walk): `ship`
 * refuses such a record anyway (too-deep), and a path a thousand levels long helps no one.
 */
export const MAX_WALK_DEPTH = 200;

/**
 * Keys an object may hold before they are counted in a Map: a record's dozen are found faster by
 * comparing them in an array, and the Map keeps an object of a hundred thousand keys linear.
 */
const FEW_KEYS = 32;

/** An object or array being walked: its path, and for an object the keys it has had so far. */
interface Frame {
  path: string | null;
  /** The object's keys in order, while it has at most FEW_KEYS; null for an array. */
  keys: string[] | null;
  /** How often each key came, once the object has more. */
  counts: Map<string, number> | null;
  /** The warning made for each key that came again, to count on in. */
  warned: Map<string, Diagnostic> | null;
  /** The index of the array element being read. */
  index: number;
}

function message(count: number): string {
  return `the key appears ${count} times in its object: only its last value is checked and shipped`;
}

/** The index of the quote that closes the string opening at `open`. */
function stringEnd(text: string, open: number): number {
  let end = text.indexOf('"', open + 1);
  for (;;) {
    let backslashes = 0;
    while (text[end - 1 - backslashes] === '\\') backslashes++;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

/** What stands for every level past MAX_WALK_DEPTH: an array, whose keys are not counted. */
const UNTRACKED: Frame = { path: null, keys: null, counts: null, warned: null, index: 0 };

function childPath(frame: Frame | undefined, key: string | null): string | null {
  if (frame === undefined) return null;
  return frame.keys === null ? itemPath(frame.path, frame.index) : keyPath(frame.path, key!);
}

/** How many times `key` has come in its object, this time included. */
function tally(frame: Frame, key: string): number {
  if (frame.counts !== null) {
    const seen = (frame.counts.get(key) ?? 0) + 1;
    frame.counts.set(key, seen);
    return seen;
  }
  const keys = frame.keys!;
  let seen = 1;
  for (const k of keys) if (k === key) seen++;
  keys.push(key);
  if (keys.length > FEW_KEYS) {
    frame.counts = new Map();
    for (const k of keys) frame.counts.set(k, (frame.counts.get(k) ?? 0) + 1);
  }
  return seen;
}

/** Counts `key` in its object; its warning is made at its second coming and counts on after. */
function count(frame: Frame, key: string, found: Diagnostic[]): void {
  const seen = tally(frame, key);
  if (seen < 2) return;
  frame.warned ??= new Map();
  const earlier = frame.warned.get(key);
  if (earlier) {
    earlier.message = message(seen);
    return;
  }
  const warning = diagnostic('duplicate-key', keyPath(frame.path, key), message(seen));
  frame.warned.set(key, warning);
  found.push(warning);
}

/** Enters an object or an array; whether a key comes next. */
function open(stack: Frame[], key: string | null, isObject: boolean): boolean {
  if (stack.length >= MAX_WALK_DEPTH) {
    stack.push(UNTRACKED);
    return false;
  }
  stack.push({ path: childPath(stack.at(-1), key), keys: isObject ? [] : null, counts: null, warned: null, index: 0 });
  return isObject;
}

/**
 * One `duplicate-key` warning for each key that appears more than once in an object, at any
 * depth, however it is spelt (`"H\u006fst"` is `"Host"`). `text` must be valid JSON (JSON.parse
 * accepted it): the walk looks only at strings and brackets. It keeps no call stack, so no depth of
 * nesting can overflow one.
 */
export function duplicateKeys(text: string): Diagnostic[] {
  const found: Diagnostic[] = [];
  const stack: Frame[] = [];
  let expectKey = false;
  let key: string | null = null;
  for (let i = 0; i < text.length; i++) {
    switch (text[i]) {
      case '"': {
        const end = stringEnd(text, i);
        if (expectKey) {
          const raw = text.slice(i + 1, end);
          key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
          count(stack.at(-1)!, key, found);
          expectKey = false;
        }
        i = end;
        break;
      }
      case '{':
        expectKey = open(stack, key, true);
        break;
      case '[':
        expectKey = open(stack, key, false);
        break;
      case '}':
      case ']':
        stack.pop();
        expectKey = false;
        break;
      case ',': {
        const frame = stack.at(-1)!;
        expectKey = frame.keys !== null;
        frame.index++;
        break;
      }
    }
  }
  return found;
}
