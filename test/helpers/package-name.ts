/** The npm package a module's path or URL lies in (`chalk`, `@msgpack/msgpack`), or undefined for none. */
export function packageName(location: string): string | undefined {
  return /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(location)?.[1];
}
