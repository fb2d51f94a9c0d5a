/**
 * What `--kubectl "…"` names: a workload (`deploy/NAME`, `statefulset/NAME`, `daemonset/NAME`,
 * `replicaset/NAME`, `job/NAME`), one pod (`pod/NAME` or `NAME`), or a label selector (`-l SEL`),
 * with the flags that choose a cluster and namespace (passed to every kubectl run) and the ones
 * that choose containers. Anything else is refused: audit-ship builds each kubectl command itself.
 */
import { UsageError } from '../../errors.js';

export interface KubeTarget {
  /** `deployment`, `statefulset`, …, `pod`, or null for a label selector. */
  kind: string | null;
  name: string | null;
  selector: string | null;
  /** -n, --context, --kubeconfig, --cluster, --user, -s: given to every kubectl command. */
  globalArgs: string[];
  namespace: string | null;
  container: string | null;
  allContainers: boolean;
}

const KINDS: Record<string, string> = {
  deploy: 'deployment',
  deployment: 'deployment',
  deployments: 'deployment',
  sts: 'statefulset',
  statefulset: 'statefulset',
  statefulsets: 'statefulset',
  ds: 'daemonset',
  daemonset: 'daemonset',
  daemonsets: 'daemonset',
  rs: 'replicaset',
  replicaset: 'replicaset',
  replicasets: 'replicaset',
  job: 'job',
  jobs: 'job',
  po: 'pod',
  pod: 'pod',
  pods: 'pod',
};

/** Flags with a value that pick the cluster, passed on to every kubectl command. */
const GLOBAL_FLAGS: Record<string, string> = {
  '-n': '--namespace',
  '--namespace': '--namespace',
  '--context': '--context',
  '--kubeconfig': '--kubeconfig',
  '--cluster': '--cluster',
  '--user': '--user',
  '-s': '--server',
  '--server': '--server',
};

export const TARGET_HELP =
  'a workload (deploy/NAME, statefulset/NAME, daemonset/NAME, replicaset/NAME, job/NAME), pod/NAME or -l SELECTOR, ' +
  'with -n, --context, --kubeconfig, --cluster, --user, -s, -c CONTAINER or --all-containers';

/** Splits an argument string on blanks, honouring single and double quotes and backslashes. */
export function splitArgs(text: string): string[] {
  const args: string[] = [];
  let current = '';
  let quote: '"' | "'" | null = null;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      current += text[++i];
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) args.push(current);
      current = '';
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (quote) throw new UsageError(`--kubectl: unclosed ${quote} in ${JSON.stringify(text)}`);
  if (started) args.push(current);
  return args;
}

/** `--flag=value` or `--flag value`: the value, and how many arguments it took. */
function valueOf(args: string[], i: number): [string, number] {
  const arg = args[i]!;
  const eq = arg.indexOf('=');
  if (arg.startsWith('--') && eq > 0) return [arg.slice(eq + 1), 1];
  const value = args[i + 1];
  if (value === undefined) throw new UsageError(`--kubectl: ${arg} needs a value`);
  return [value, 2];
}

function positional(arg: string): Pick<KubeTarget, 'kind' | 'name'> {
  const slash = arg.indexOf('/');
  if (slash < 0) return { kind: 'pod', name: arg };
  const kind = KINDS[arg.slice(0, slash).toLowerCase()];
  const name = arg.slice(slash + 1);
  if (!kind || !name) throw new UsageError(`--kubectl: cannot follow ${JSON.stringify(arg)}; give ${TARGET_HELP}`);
  return { kind, name };
}

export function parseTarget(text: string): KubeTarget {
  const args = splitArgs(text);
  const target: KubeTarget = {
    kind: null,
    name: null,
    selector: null,
    globalArgs: [],
    namespace: null,
    container: null,
    allContainers: false,
  };
  for (let i = 0; i < args.length;) {
    const arg = args[i]!;
    const flag = arg.startsWith('--') ? arg.split('=')[0]! : arg;
    if (!arg.startsWith('-')) {
      if (target.kind !== null) throw new UsageError(`--kubectl: one workload at a time (${target.kind}/${target.name} and ${arg})`);
      Object.assign(target, positional(arg));
      i++;
    } else if (GLOBAL_FLAGS[flag]) {
      const [value, used] = valueOf(args, i);
      target.globalArgs.push(`${GLOBAL_FLAGS[flag]}=${value}`);
      if (GLOBAL_FLAGS[flag] === '--namespace') target.namespace = value;
      i += used;
    } else if (flag === '-l' || flag === '--selector' || flag === '-c' || flag === '--container') {
      const [value, used] = valueOf(args, i);
      if (flag === '-l' || flag === '--selector') target.selector = value;
      else target.container = value;
      i += used;
    } else if (arg === '--all-containers' || arg === '--all-containers=true') {
      target.allContainers = true;
      i++;
    } else {
      throw new UsageError(`--kubectl: ${arg} is not taken (audit-ship runs kubectl itself); give ${TARGET_HELP}`);
    }
  }
  if ((target.kind === null) === (target.selector === null)) {
    throw new UsageError(`--kubectl: give a workload or -l SELECTOR (one of them): ${TARGET_HELP}`);
  }
  if (target.container !== null && target.allContainers) throw new UsageError('--kubectl: -c and --all-containers exclude each other');
  return target;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** A workload's `spec.selector` as the `-l` text kubectl takes. */
export function selectorText(selector: LabelSelector): string {
  const terms = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') terms.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') terms.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') terms.push(e.key);
    else if (e.operator === 'DoesNotExist') terms.push(`!${e.key}`);
  }
  return terms.join(',');
}
