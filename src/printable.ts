/**
 * Text from the input (a key of a record, a file name) made safe to print on one line of a
 * terminal or a CI log. A key such as `"\u001b[2J"` printed as it is clears the screen of whoever
 * reads the report, and one holding a line feed splits a finding over two lines that a script
 * reads as two. Control characters, format characters (a right-to-left override can make a key
 * read as another) and line and paragraph separators are written as JSON would escape them.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

function escape(char: string): string {
  const json = JSON.stringify(char).slice(1, -1); // \n, \t, \u001b: the control characters
  if (json !== char) return json;
  const code = char.codePointAt(0)!;
  return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

export function printable(text: string): string {
  // A test first: nearly every text has nothing to escape, and replace() would copy it.
  UNPRINTABLE.lastIndex = 0;
  return UNPRINTABLE.test(text) ? text.replace(UNPRINTABLE, escape) : text;
}
