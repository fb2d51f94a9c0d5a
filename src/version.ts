/** The version, read from the package.json that ships beside the code, wherever it is installed. */
import { readFileSync } from 'node:fs';

let cached: string | null = null;

export function version(): string {
  // dist/src/version.js → the package root, in a clone and in an installed package alike.
  cached ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return cached;
}
