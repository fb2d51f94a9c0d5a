/**
 * The pods a workload selects, as they come and go: `kubectl get pods -l SEL --watch
 * --output-watch-events -o json`, restarted with backoff whenever it exits (the API server ends
 * watches every so often). Each restart lists every pod again, so none is missed in between.
 */
import type { ChildProcess } from 'node:child_process';
import { Backoff, sleep, type BackoffOptions } from '../../backoff.js';
import { exited, notInstalled, startKubectl } from './kubectl-run.js';

export interface PodInfo {
  namespace: string;
  name: string;
  /** The pod's UID: a pod made again under the same name (a StatefulSet's rollout) has another. */
  uid: string | null;
  /** The containers to follow, in the pod's order. */
  containers: string[];
  /** restartCount by container, init containers too. */
  restarts: Map<string, number>;
  /** Init containers that ran to their end (Completed): read to it once, never followed again. */
  completed: Set<string>;
  /** Succeeded or Failed: no container of it runs again. */
  terminal: boolean;
  deleted: boolean;
}

export interface PodWatchOptions {
  command: string;
  /** `get pods …` arguments that select the pods, with the global flags. */
  args: string[];
  /** Which containers of a pod to follow. */
  containers: (pod: PodObject) => string[];
  backoff: BackoffOptions;
  signal: AbortSignal;
  onPod: (pod: PodInfo) => void;
  onMessage: (line: string) => void;
}

export interface PodObject {
  metadata?: { name?: string; namespace?: string; uid?: string; annotations?: Record<string, string> };
  spec?: { containers?: { name: string }[]; initContainers?: { name: string }[] };
  status?: { phase?: string; containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] };
}

interface ContainerStatus {
  name: string;
  restartCount?: number;
  state?: { terminated?: { exitCode?: number } };
}

/** Splits a stream of concatenated JSON objects (kubectl's watch output, pretty or not). */
export class JsonObjects {
  private text = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = 0;
  private scanned = 0;

  push(chunk: string, out: string[]): void {
    this.text += chunk;
    for (let i = this.scanned; i < this.text.length; i++) {
      const ch = this.text[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === '\\') this.escaped = true;
        else if (ch === '"') this.inString = false;
      } else if (ch === '"') this.inString = true;
      else if (ch === '{') {
        if (this.depth++ === 0) this.start = i;
      } else if (ch === '}' && --this.depth === 0) out.push(this.text.slice(this.start, i + 1));
    }
    // Keep only the object being read.
    const keep = this.depth > 0 ? this.start : this.text.length;
    this.text = this.text.slice(keep);
    this.start -= keep;
    this.scanned = this.text.length;
  }
}

function podInfo(type: string, pod: PodObject, containers: string[]): PodInfo | null {
  const { name, namespace } = pod.metadata ?? {};
  if (!name || !namespace) return null;
  const phase = pod.status?.phase;
  const inits = pod.status?.initContainerStatuses ?? [];
  return {
    name,
    namespace,
    uid: pod.metadata?.uid ?? null,
    containers,
    restarts: new Map([...inits, ...(pod.status?.containerStatuses ?? [])].map((s) => [s.name, s.restartCount ?? 0])),
    completed: new Set(inits.filter((s) => s.state?.terminated?.exitCode === 0).map((s) => s.name)),
    terminal: phase === 'Succeeded' || phase === 'Failed',
    deleted: type === 'DELETED',
  };
}

export async function watchPods(options: PodWatchOptions): Promise<void> {
  const { command, signal } = options;
  const args = ['get', 'pods', ...options.args, '--watch', '--output-watch-events', '-o', 'json'];
  const backoff = new Backoff(options.backoff);
  while (!signal.aborted) {
    const child: ChildProcess = startKubectl(command, args, (line) => options.onMessage(`kubectl get pods: ${line}`));
    const kill = () => child.kill('SIGTERM');
    signal.addEventListener('abort', kill, { once: true });
    const ended = exited(child);
    const objects = new JsonObjects();
    let seen = false;
    for await (const chunk of child.stdout! as AsyncIterable<Buffer>) {
      const out: string[] = [];
      objects.push(chunk.toString('utf8'), out);
      for (const text of out) {
        const event = JSON.parse(text) as { type?: string; object?: PodObject };
        if (!event.object || event.type === 'ERROR' || event.type === 'BOOKMARK') continue;
        const info = podInfo(event.type ?? 'ADDED', event.object, options.containers(event.object));
        if (info) options.onPod(info);
        seen = true;
      }
    }
    const end = await ended;
    signal.removeEventListener('abort', kill);
    if (end.enoent) throw notInstalled(command);
    if (signal.aborted) return;
    if (seen) backoff.reset();
    const delay = backoff.next();
    options.onMessage(`audit-ship: the pod watch ended (code ${end.code}); watching again in ${(delay / 1000).toFixed(1)} s`);
    await sleep(delay, signal);
  }
}

/** The containers `kubectl logs` would pick: -c, all of them, or the default one. */
export function chooseContainers(pod: PodObject, container: string | null, all: boolean): string[] {
  const names = (pod.spec?.containers ?? []).map((c) => c.name);
  const everyOne = [...(pod.spec?.initContainers ?? []).map((c) => c.name), ...names];
  if (all) return everyOne;
  // kubectl logs -c takes an init container too.
  if (container !== null) return everyOne.includes(container) ? [container] : [];
  const preferred = pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'];
  if (preferred && names.includes(preferred)) return [preferred];
  return names.slice(0, 1);
}
