/**
 * What `--kubectl` says when it finds nothing to follow. A selector that matches no pod, a
 * deployment scaled to zero, or `-c` naming a container the pods do not have all left audit-ship
 * silent for ever: it was waiting, rightly (a pod may start at any time), but a user with a typo
 * in the selector or the container name had no word of it. Nor did one whose kubectl had no
 * configuration at all: it tries a server at localhost:8080, and said only that it was refused.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { askKubectl, isMisconfigured } from './kubectl-run.js';
import type { PodObject } from './pod-watch.js';
import type { KubeTarget } from './target.js';

/** The note for a kubectl that will find no configuration (kubectl's own rules), or null. */
export function noConfigNote(target: KubeTarget): string | null {
  const { env } = process;
  if (target.globalArgs.some((a) => a.startsWith('--kubeconfig=') || a.startsWith('--server='))) return null;
  // In a pod, kubectl takes the pod's service account.
  if (env.KUBERNETES_SERVICE_HOST) return null;
  const named = env.KUBECONFIG ? env.KUBECONFIG.split(delimiter).filter(Boolean) : null;
  const files = named ?? [join(env.HOME || homedir(), '.kube', 'config')];
  if (files.some((f) => existsSync(f))) return null;
  const why = named ? `KUBECONFIG names no file that exists (${named.join(', ')})` : `there is no ${files[0]} and KUBECONFIG is not set`;
  return (
    `audit-ship: kubectl has no configuration: ${why}, so it tries a server at localhost:8080; ` +
    'give --kubectl "… --kubeconfig FILE", or set KUBECONFIG'
  );
}

/** Where the pods were looked for, when the user did not say: kubectl's current namespace. */
function where(target: KubeTarget): string {
  return target.namespace === null ? ' (in the current namespace; -n names another)' : ` (in namespace ${target.namespace})`;
}

/** The note for a listing that found no pod, naming what was looked for. */
export function noPodNote(target: KubeTarget, selector: string | null): string {
  if (target.kind === 'pod') return `audit-ship: no pod ${target.name} yet${where(target)}; it is followed once it starts`;
  if (target.kind !== null) {
    // The workload was found in its namespace, so its pods would be there too.
    return `audit-ship: ${target.kind}/${target.name} has no pod (-l ${selector}) yet; each is followed once it starts`;
  }
  return `audit-ship: no pod matches -l ${target.selector} yet${where(target)}; each is followed once it starts`;
}

/** The `get pods` arguments that select a target's pods, and the label selector among them if any. */
export interface PodSelection {
  args: string[];
  selector: string | null;
}

/**
 * Lists the pods `selection` selects once, and says so if there is none and the watch has seen none
 * either (`seen`): the watch itself cannot tell an empty listing from one still to come. Returns
 * kubectl's error when it is one that retrying will not mend (a context or kubeconfig that is not
 * there, no right to list pods): the watch would retry it for ever, where a workload's lookup stops
 * the run.
 */
export async function sayIfNoPod(
  command: string,
  selection: PodSelection,
  target: KubeTarget,
  signal: AbortSignal,
  seen: () => boolean,
  onMessage: (line: string) => void,
): Promise<string | null> {
  const answer = await askKubectl(command, ['get', 'pods', ...selection.args, '-o', 'name'], signal);
  if (signal.aborted) return null;
  if (answer.code !== 0) return isMisconfigured(answer.error) ? answer.error : null;
  if (answer.stdout.trim() !== '' || seen()) return null;
  onMessage(noPodNote(target, selection.selector));
  return null;
}

/** Pods said to lack the container `-c` names: each said once, until it is deleted. */
export class MissingContainers {
  private readonly said = new Set<string>();

  constructor(
    private readonly container: string,
    private readonly onMessage: (line: string) => void,
  ) {}

  note(pod: PodObject): void {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    if (this.said.has(key)) return;
    this.said.add(key);
    const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
    this.onMessage(
      `audit-ship: pod ${key} has no container ${JSON.stringify(this.container)} (it has ${names.join(', ') || 'none'}); it is not followed`,
    );
  }

  forget(namespace: string, name: string): void {
    this.said.delete(`${namespace}/${name}`);
  }
}
