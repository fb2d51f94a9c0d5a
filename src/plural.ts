/**
 * A count and its noun, in the number the count takes: "1 record", "0 records", "2 records". The
 * summaries and notes a person reads say what a run did with one record as well as with millions.
 */
export function count(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}

/** "was" for one, "were" for any other count: "1 record was", "3 records were". */
export function was(n: number): string {
  return n === 1 ? 'was' : 'were';
}
