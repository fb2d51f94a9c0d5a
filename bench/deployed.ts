/**
 * How audit-ship runs as deployed: node's own flags from the image's ENTRYPOINT (deploy/Dockerfile)
 * and NODE_OPTIONS from the Deployment (deploy/kubernetes). Both are read from those files, so the
 * bench runs the shipper as a pod does, whatever they come to say.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { imageEntrypoint } from '../test/helpers/dockerfile.js';
import { ROOT } from '../test/helpers/paths.js';

export interface Deployed {
  /** Flags between `node` and the script in the image's ENTRYPOINT. */
  nodeArgs: string[];
  /** NODE_OPTIONS of the Deployment's container ('' for none). */
  nodeOptions: string;
}

function deploymentNodeOptions(): string {
  const manifest = readFileSync(join(ROOT, 'deploy', 'kubernetes', 'base', 'deployment.yaml'), 'utf8');
  const deployment = parse(manifest) as { spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } } };
  return deployment.spec.template.spec.containers[0]?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
}

export function deployed(): Deployed {
  return { nodeArgs: imageEntrypoint().nodeArgs, nodeOptions: deploymentNodeOptions() };
}

/** As the tables name it: `node FLAGS`, `NODE_OPTIONS=...`. */
export function describeDeployed(d: Deployed): string {
  const parts = [`\`node ${[...d.nodeArgs, 'audit-ship.js'].join(' ')}\``];
  if (d.nodeOptions) parts.push(`\`NODE_OPTIONS=${d.nodeOptions}\``);
  return parts.join(', ');
}
