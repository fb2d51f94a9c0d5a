/** The benchmark corpus: deterministic realistic records, written once and reused between runs. */
import { createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { sampleLines } from '../src/sample/generate.js';
import { ROOT } from '../test/helpers/paths.js';

export const OUT_DIR = join(ROOT, 'bench', 'out');

export interface Corpus {
  path: string;
  records: number;
  bytes: number;
}

export async function ensureCorpus(records: number, seed = 2021): Promise<Corpus> {
  mkdirSync(OUT_DIR, { recursive: true });
  const path = join(OUT_DIR, `corpus-${records}-${seed}.jsonl`);
  if (!existsSync(path)) {
    const partial = `${path}.partial`;
    const out = createWriteStream(partial);
    for (const line of sampleLines(records, { seed, start: 1632312000 })) {
      if (!out.write(line)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'close');
    const { renameSync } = await import('node:fs');
    renameSync(partial, path);
  }
  return { path, records, bytes: statSync(path).size };
}

/** The corpus gzipped (level 6, as logrotate's compress), for the .gz cases. */
export async function ensureGzipCorpus(corpus: Corpus): Promise<string> {
  const path = `${corpus.path}.gz`;
  if (!existsSync(path)) {
    const { createReadStream, renameSync } = await import('node:fs');
    const { pipeline } = await import('node:stream/promises');
    const { createGzip } = await import('node:zlib');
    await pipeline(createReadStream(corpus.path), createGzip(), createWriteStream(`${path}.partial`));
    renameSync(`${path}.partial`, path);
  }
  return path;
}
