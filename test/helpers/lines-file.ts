/** Files of numbered lines of every length, to hold the input readers to their contracts. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { prng } from '../../src/sample/generate.js';
import { tempDir } from './cli.js';

/** Lines from empty to several read buffers long, each naming its number; gzip-compressed if asked. */
export function fileOfLines(count: number, options: { gzip?: boolean } = {}): { path: string; lines: string[] } {
  const rand = prng(7);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = rand() < 0.02 ? Math.floor(rand() * 700_000) : Math.floor(rand() * 3000);
    lines.push(`${i}:${String.fromCharCode(97 + (i % 26)).repeat(length)}`);
  }
  const text = Buffer.from(`${lines.join('\n')}\n`);
  const path = join(tempDir(), options.gzip ? 'lines.log.gz' : 'lines.log');
  writeFileSync(path, options.gzip ? gzipSync(text) : text);
  return { path, lines };
}
