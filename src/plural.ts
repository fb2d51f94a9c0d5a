/**
 * Words in the number a count takes: the summaries and notes a person reads say what a run did
 * with one record as well as with millions. One rule, in one place: one is singular, any other
 * count (none included) plural.
 */
export function inNumber(n: number, one: string, other: string): string {
  return n === 1 ? one : other;
}

/** A count and its noun: "1 record", "0 records", "2 records". */
export function count(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${inNumber(n, noun, nouns)}`;
}

/** "was" for one, "were" for any other count: "1 record was", "3 records were". */
export function was(n: number): string {
  return inNumber(n, 'was', 'were');
}
