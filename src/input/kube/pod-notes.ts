/**
 * What `--kubectl` says when it finds nothing to follow. A selector that matches no pod, a
 * deployment scaled to zero, or `-c` naming a container the pods do not have all left audit-ship
 * silent for ever: it was waiting, rightly (a pod may start at any time), but a user with a typo
 * in the selector or the container name had no word of it.
 */
import { askKubectl } from './kubectl-run.js';
import type { PodObject } from './pod-watch.js';
import type { KubeTarget } from './target.js';

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

/**
 * Lists the pods `args` select once, and says so if there is none and the watch has seen none
 * either (`seen`): the watch itself cannot tell an empty listing from one still to come.
 */
export async function sayIfNoPod(
  command: string,
  args: string[],
  target: KubeTarget,
  seen: () => boolean,
  onMessage: (line: string) => void,
): Promise<void> {
  const answer = await askKubectl(command, ['get', 'pods', ...args, '-o', 'name']);
  // A failure is the watch's to report, as it retries.
  if (answer.code !== 0 || answer.stdout.trim() !== '' || seen()) return;
  const l = args.indexOf('-l');
  onMessage(noPodNote(target, l >= 0 ? args[l + 1]! : null));
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
