/**
 * Which pods `--kubectl` follows: the `get pods` arguments for its target, a workload resolved to
 * its pod selector by asking kubectl (retried while the API server is away, not when kubectl's
 * configuration is wrong or the workload does not exist).
 */
import { Backoff, sleep, type BackoffOptions } from '../../backoff.js';
import { InputError } from '../../errors.js';
import { printable } from '../../printable.js';
import { askKubectl, isMisconfigured } from './kubectl-run.js';
import type { PodSelection } from './pod-notes.js';
import { selectorText, type KubeTarget } from './target.js';
import { isPlainObject } from '../../plain-object.js';

/** The `get pods` arguments that select the target's pods, resolving a workload to its selector. */
export async function podSelection(
  target: KubeTarget,
  command: string,
  backoff: BackoffOptions,
  signal: AbortSignal,
  note: (l: string) => void,
): Promise<PodSelection | null> {
  const bySelector = (selector: string) => ({ args: ['-l', selector, ...target.globalArgs], selector });
  if (target.selector !== null) return bySelector(target.selector);
  if (target.kind === 'pod') return { args: [`--field-selector=metadata.name=${target.name}`, ...target.globalArgs], selector: null };
  const retry = new Backoff(backoff);
  for (;;) {
    const answer = await askKubectl(command, ['get', `${target.kind}/${target.name}`, '-o', 'json', ...target.globalArgs], signal);
    if (signal.aborted) return null;
    if (answer.code === 0) {
      const selector = workloadOf(answer.stdout, command, target).spec?.selector;
      const text = selector ? selectorText(selector) : '';
      if (!text) throw new InputError(`--kubectl: ${target.kind}/${target.name} has no pod selector`);
      return bySelector(text);
    }
    if (isMisconfigured(answer.error)) throw new InputError(`--kubectl: ${answer.error}`);
    const delay = retry.next();
    note(`audit-ship: kubectl get ${target.kind}/${target.name}: ${answer.error}; again in ${(delay / 1000).toFixed(1)} s`);
    await sleep(delay, signal);
    if (signal.aborted) return null;
  }
}

/**
 * kubectl's `get -o json` answer for a workload. A --kubectl-command that is not kubectl (a wrapper
 * that prints a banner, another program) may exit 0 with something else: that stops the run with
 * what it wrote, where it was an internal error.
 */
function workloadOf(stdout: string, command: string, target: KubeTarget): { spec?: { selector?: object } } {
  let answer: unknown;
  try {
    answer = JSON.parse(stdout);
  } catch {
    answer = null;
  }
  if (isPlainObject(answer)) return answer as { spec?: { selector?: object } };
  const text = stdout.trim();
  const said = text === '' ? 'nothing' : `"${printable(text.length > 80 ? `${text.slice(0, 80)}…` : text)}"`;
  throw new InputError(
    `--kubectl: ${command} get ${target.kind}/${target.name} -o json answered with ${said}, not a JSON object: is ${command} kubectl? (--kubectl-command)`,
  );
}
