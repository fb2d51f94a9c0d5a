import assert from 'node:assert/strict';
import { it } from 'node:test';
import { printable } from '../src/printable.js';

it('leaves printable text as it is, in any script', () => {
  for (const text of ['UserInfo.Groups[0]', 'a "quoted" \\ key', 'Größe', '名前', '🙂 emoji', '']) assert.equal(printable(text), text);
});

it('escapes what would act on a terminal or split a line, as JSON would write it', () => {
  assert.equal(printable('\u001b[2Jcleared'), '\\u001b[2Jcleared');
  assert.equal(printable('a\nb\r\tc'), 'a\\nb\\r\\tc');
  assert.equal(printable('\u0000\u007f\u0085\u009b'), '\\u0000\\u007f\\u0085\\u009b');
  // Format characters: a right-to-left override, a zero-width space, a tag; line and paragraph separators.
  assert.equal(printable('admin\u202e\u200b\u{e0041}'), 'admin\\u202e\\u200b\\u{e0041}');
  assert.equal(printable('a\u2028b\u2029'), 'a\\u2028b\\u2029');
  assert.equal(printable('\u001b\u001b'), '\\u001b\\u001b', 'every one, twice in a row too');
  assert.equal(printable('x\u001b'), 'x\\u001b', 'and after a call that found one');
});
