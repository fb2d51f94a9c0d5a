import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './paths.js';

/** The image's ENTRYPOINT (deploy/Dockerfile, exec form): node's own flags, then the script it runs. */
export function imageEntrypoint(): { nodeArgs: string[]; script: string } {
  const line = readFileSync(join(ROOT, 'deploy', 'Dockerfile'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('ENTRYPOINT '));
  if (!line) throw new Error('deploy/Dockerfile has no ENTRYPOINT');
  const entrypoint = JSON.parse(line.slice('ENTRYPOINT '.length)) as string[];
  if (entrypoint[0] !== 'node' || entrypoint.length < 2) throw new Error(`the image's ENTRYPOINT does not run a script with node: ${line}`);
  return { nodeArgs: entrypoint.slice(1, -1), script: entrypoint.at(-1)! };
}
