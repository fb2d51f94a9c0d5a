/**
 * Module hooks registered by test/helpers/loaded-packages.ts: each npm package a CLI under test
 * loads is written as `package: NAME` on stderr, once.
 */
import { packageName } from './package-name.js';

const seen = new Set<string>();

interface Resolved {
  url: string;
}

export async function resolve(specifier: string, context: unknown, next: (s: string, c: unknown) => Promise<Resolved>): Promise<Resolved> {
  const resolved = await next(specifier, context);
  const name = packageName(resolved.url);
  if (name && !seen.has(name)) {
    seen.add(name);
    process.stderr.write(`package: ${name}\n`);
  }
  return resolved;
}
