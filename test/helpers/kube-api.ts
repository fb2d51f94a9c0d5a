/**
 * A small Kubernetes API server for the real kubectl to talk to: discovery, deployments, pods
 * (get, list, watch) and `pods/log` with follow, timestamps, sinceTime, tailLines and previous.
 * Containers have instances (a restart starts a new one, the old one stays readable with
 * `previous`), log lines carry kubelet timestamps, and streams can be cut mid-line. It answers as
 * an API server does in the parts kubectl reads; `kubectl -v=8` shows every request.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { tempDir } from './cli.js';

interface LogLine {
  /** Nanoseconds since the epoch, as a bigint: the kubelet's timestamp. */
  ns: bigint;
  text: string;
}

interface Instance {
  lines: LogLine[];
  ended: boolean;
}

interface Container {
  name: string;
  instances: Instance[];
  /** An init container: it runs to its end before the others, and is then Completed. */
  init: boolean;
}

interface Pod {
  name: string;
  uid: string;
  labels: Record<string, string>;
  containers: Container[];
  resourceVersion: number;
  /** How far the clock of the pod's node is from this one's: its kubelet stamps its lines so. */
  clockOffsetNs: bigint;
}

interface Follower {
  container: Container;
  instance: Instance;
  send: (line: LogLine) => void;
  end: () => void;
  /** Set by cut(): the next line is sent halfway and the stream ends. */
  cut: boolean;
  /** Set by quietStreams(): open, and sent nothing more. */
  quiet: boolean;
  /** Log bytes waiting for the connection to take them. */
  unsent: () => number;
}

const NAMESPACE = 'default';

/**
 * Servers started and not closed yet. A test that fails before it closes its own would otherwise
 * keep its file's process alive until the runner's timeout, minutes later, which then reports a
 * timeout instead of the failure.
 */
const open = new Set<FakeKubeApi>();
after(() => Promise.all([...open].map((api) => api.close())));

/** RFC 3339 with nanoseconds, trailing zeros dropped, as Go's RFC3339Nano writes. */
export function rfc3339Nano(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const base = new Date(ms).toISOString().slice(0, 19);
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${fraction ? `.${fraction}` : ''}Z`;
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function notFound(response: ServerResponse, message: string): void {
  json(response, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason: 'NotFound', code: 404 });
}

const DISCOVERY: Record<string, unknown> = {
  '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] },
  '/apis': {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [
      {
        name: 'apps',
        versions: [{ groupVersion: 'apps/v1', version: 'v1' }],
        preferredVersion: { groupVersion: 'apps/v1', version: 'v1' },
      },
    ],
  },
  '/api/v1': {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list', 'watch'], shortNames: ['po'] },
      { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
    ],
  },
  '/apis/apps/v1': {
    kind: 'APIResourceList',
    groupVersion: 'apps/v1',
    resources: [
      {
        name: 'deployments',
        singularName: 'deployment',
        namespaced: true,
        kind: 'Deployment',
        verbs: ['get', 'list'],
        shortNames: ['deploy'],
      },
    ],
  },
  '/version': { major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64' },
};

/** A container's status as the kubelet reports it: an init container that ended is Completed. */
function containerStatus(c: Container): unknown {
  const ended = c.instances.at(-1)!.ended;
  return {
    name: c.name,
    restartCount: c.instances.length - 1,
    ready: !ended,
    state: c.init && ended ? { terminated: { exitCode: 0, reason: 'Completed' } } : { running: { startedAt: '2026-12-01T00:00:00Z' } },
  };
}

export class FakeKubeApi {
  readonly pods = new Map<string, Pod>();
  readonly deployments = new Map<string, Record<string, string>>();
  /** Streams cut mid-line so far. */
  cuts = 0;
  /** Every request, as `METHOD path?query`. */
  readonly requests: string[] = [];
  private readonly followers = new Set<Follower>();
  /** Refuse every log request, as the API server does for a Role without `pods/log` (403). */
  forbidLogs = false;
  /** Take every request and answer none, as an API server that hangs. */
  silent = false;
  /** Answer pod lists and watches this much later: a watch that comes back after the log streams do. */
  podListDelayMs = 0;
  private readonly watchers = new Set<{ send: (type: string, pod: Pod) => void; end: () => void }>();
  private readonly events: { rv: number; type: string; pod: Pod }[] = [];
  private resourceVersion = 1;
  /** How many lines in a row share one kubelet time (a coarse clock); 1: every line has its own. */
  linesPerStamp = 1;
  private lastNs = 0n;
  private linesAtLastNs = 0;
  private uids = 0;
  private readonly server = createServer((request, response) => this.handle(request, response));
  url = '';

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    open.add(this);
    return this;
  }

  /** A kubeconfig and a discovery cache of their own, in the environment kubectl reads. */
  kubectlEnv(): NodeJS.ProcessEnv {
    const dir = tempDir('audit-ship-kube-');
    const config = join(dir, 'config');
    writeFileSync(
      config,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- cluster: {server: "${this.url}"}`,
        '  name: fake',
        'contexts:',
        `- context: {cluster: fake, user: tester, namespace: ${NAMESPACE}}`,
        '  name: fake',
        'current-context: fake',
        'users:',
        '- name: tester',
        '  user: {token: fake}',
        '',
      ].join('\n'),
    );
    mkdirSync(join(dir, 'cache'));
    return { KUBECONFIG: config, KUBECACHEDIR: join(dir, 'cache') };
  }

  async close(): Promise<void> {
    open.delete(this);
    for (const f of this.followers) f.end();
    this.server.closeAllConnections();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The API server goes away (every connection dropped, nothing listening); the pods keep writing. */
  async unreachable(): Promise<void> {
    for (const f of [...this.followers]) f.end();
    this.server.closeAllConnections();
    for (const w of this.watchers) w.end();
    // Gone with their connections, whenever their close events come: a pod changed meanwhile is told to none.
    this.followers.clear();
    this.watchers.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Back on the same address. */
  async reachable(): Promise<void> {
    const port = Number(new URL(this.url).port);
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
  }

  addDeployment(name: string, matchLabels: Record<string, string>): void {
    this.deployments.set(name, matchLabels);
  }

  /**
   * A pod: `clockOffsetMs` puts its node's clock that far off (a node behind: negative);
   * `initContainers` run before the others, until completeInit().
   */
  addPod(
    name: string,
    labels: Record<string, string>,
    containers: string[] = ['main'],
    options: { clockOffsetMs?: number; initContainers?: string[] } = {},
  ): void {
    const container = (c: string, init: boolean): Container => ({ name: c, instances: [{ lines: [], ended: false }], init });
    const pod: Pod = {
      name,
      uid: `uid-${++this.uids}`,
      labels,
      containers: [...(options.initContainers ?? []).map((c) => container(c, true)), ...containers.map((c) => container(c, false))],
      resourceVersion: 0,
      clockOffsetNs: BigInt(options.clockOffsetMs ?? 0) * 1_000_000n,
    };
    this.pods.set(name, pod);
    this.changed('ADDED', pod);
  }

  /** Appends a line to a container's log, stamped now by its node's clock, and sends it to its followers. */
  write(podName: string, text: string, container = 'main'): void {
    const c = this.container(podName, container);
    const instance = c.instances.at(-1)!;
    let ns = this.lastNs;
    if (this.linesAtLastNs >= this.linesPerStamp || ns === 0n) {
      ns = BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1000));
      if (ns <= this.lastNs) ns = this.lastNs + 1n;
      this.lastNs = ns;
      this.linesAtLastNs = 0;
    }
    this.linesAtLastNs++;
    const line = { ns: ns + this.pods.get(podName)!.clockOffsetNs, text };
    instance.lines.push(line);
    for (const f of this.followers) if (f.instance === instance && !f.quiet) f.send(line);
  }

  /**
   * Every follow stream open now goes quiet: it stays open and gets no more lines, as one does when
   * the node rotates the log under a kubelet that follows the file rotated away. A new request gets
   * every line.
   */
  quietStreams(): void {
    for (const f of this.followers) f.quiet = true;
  }

  /** The container crashes: its followers' streams end, and a new instance starts (restartCount + 1). */
  restart(podName: string, container = 'main'): void {
    const c = this.container(podName, container);
    this.endInstance(c.instances.at(-1)!);
    c.instances.push({ lines: [], ended: false });
    this.changed('MODIFIED', this.pods.get(podName)!);
  }

  /** An init container ends, Completed (exit code 0): its streams end after the lines already written. */
  completeInit(podName: string, container: string): void {
    this.endInstance(this.container(podName, container).instances.at(-1)!);
    this.changed('MODIFIED', this.pods.get(podName)!);
  }

  /** The pod is deleted: its streams end after the lines already written, and it is gone. */
  deletePod(podName: string): void {
    const pod = this.pods.get(podName)!;
    for (const c of pod.containers) this.endInstance(c.instances.at(-1)!);
    this.pods.delete(podName);
    this.changed('DELETED', pod);
  }

  /** Every follow stream ends in the middle of the next line it sends. */
  cutStreams(): void {
    for (const f of this.followers) f.cut = true;
  }

  /** Log bytes waiting for the followers' connections to take them: kubectl is not reading (audit-ship holds it back). */
  get unsentLogBytes(): number {
    let bytes = 0;
    for (const f of this.followers) bytes += f.unsent();
    return bytes;
  }

  /** How many log streams are open now. */
  get openStreams(): number {
    return this.followers.size;
  }

  private container(podName: string, name: string): Container {
    const c = this.pods.get(podName)?.containers.find((x) => x.name === name);
    if (!c) throw new Error(`no container ${podName}/${name}`);
    return c;
  }

  private endInstance(instance: Instance): void {
    instance.ended = true;
    for (const f of [...this.followers]) if (f.instance === instance) f.end();
  }

  private changed(type: string, pod: Pod): void {
    pod.resourceVersion = ++this.resourceVersion;
    const event = { rv: pod.resourceVersion, type, pod };
    this.events.push(event);
    for (const w of this.watchers) w.send(type, pod);
  }

  private podJson(pod: Pod): unknown {
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod.name, namespace: NAMESPACE, uid: pod.uid, labels: pod.labels, resourceVersion: String(pod.resourceVersion) },
      spec: {
        initContainers: pod.containers.filter((c) => c.init).map((c) => ({ name: c.name, image: 'seldon-deploy-init' })),
        containers: pod.containers.filter((c) => !c.init).map((c) => ({ name: c.name, image: 'seldon-deploy' })),
      },
      status: {
        phase: 'Running',
        initContainerStatuses: pod.containers.filter((c) => c.init).map(containerStatus),
        containerStatuses: pod.containers.filter((c) => !c.init).map(containerStatus),
      },
    };
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', this.url);
    this.requests.push(`${request.method} ${url.pathname}${url.search}`);
    if (this.silent) return;
    const path = url.pathname;
    if (DISCOVERY[path]) return json(response, 200, DISCOVERY[path]);
    const deployment = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)$/.exec(path);
    if (deployment) return this.getDeployment(deployment[2]!, response);
    if (path === `/api/v1/namespaces/${NAMESPACE}/pods`) {
      if (this.podListDelayMs === 0) return this.listPods(url, request, response);
      return void setTimeout(() => this.listPods(url, request, response), this.podListDelayMs);
    }
    const pod = /^\/api\/v1\/namespaces\/[^/]+\/pods\/([^/]+)(\/log)?$/.exec(path);
    if (pod) return pod[2] ? this.podLog(pod[1]!, url, request, response) : this.getPod(pod[1]!, response);
    notFound(response, `the server could not find the requested resource (${path})`);
  }

  private getDeployment(name: string, response: ServerResponse): void {
    const labels = this.deployments.get(name);
    if (!labels) return notFound(response, `deployments.apps "${name}" not found`);
    json(response, 200, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: NAMESPACE, resourceVersion: '1' },
      spec: { selector: { matchLabels: labels }, template: { metadata: { labels } } },
    });
  }

  private getPod(name: string, response: ServerResponse): void {
    const pod = this.pods.get(name);
    if (!pod) return notFound(response, `pods "${name}" not found`);
    json(response, 200, this.podJson(pod));
  }

  private listPods(url: URL, request: IncomingMessage, response: ServerResponse): void {
    const selector = parseSelector(url.searchParams.get('labelSelector') ?? '');
    const field = url.searchParams.get('fieldSelector') ?? '';
    const byName = field.startsWith('metadata.name=') ? field.slice('metadata.name='.length) : null;
    const selected = (pod: Pod) => matches(pod, selector) && (byName === null || pod.name === byName);
    if (url.searchParams.get('watch') !== 'true') {
      return json(response, 200, {
        apiVersion: 'v1',
        kind: 'PodList',
        metadata: { resourceVersion: String(this.resourceVersion) },
        items: [...this.pods.values()].filter(selected).map((p) => this.podJson(p)),
      });
    }
    response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const send = (type: string, pod: Pod) => {
      if (selected(pod)) response.write(`${JSON.stringify({ type, object: this.podJson(pod) })}\n`);
    };
    const since = Number(url.searchParams.get('resourceVersion') ?? '0');
    for (const e of this.events) if (e.rv > since) send(e.type, e.pod);
    const watcher = { send, end: () => response.end() };
    this.watchers.add(watcher);
    request.on('close', () => this.watchers.delete(watcher));
  }

  private podLog(name: string, url: URL, request: IncomingMessage, response: ServerResponse): void {
    if (this.forbidLogs) {
      const message = `pods "${name}" is forbidden: User "system:serviceaccount:${NAMESPACE}:audit-ship" cannot get resource "pods/log" in API group "" in the namespace "${NAMESPACE}"`;
      return json(response, 403, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason: 'Forbidden', code: 403 });
    }
    const pod = this.pods.get(name);
    if (!pod) return notFound(response, `pods "${name}" not found`);
    const containerName = url.searchParams.get('container') ?? pod.containers.find((c) => !c.init)!.name;
    const container = pod.containers.find((c) => c.name === containerName);
    if (!container) return notFound(response, `container ${containerName} is not valid for pod ${name}`);
    const previous = url.searchParams.get('previous') === 'true';
    const instance = container.instances.at(previous ? -2 : -1);
    if (!instance) {
      return json(response, 400, {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        message: `previous terminated container "${containerName}" in pod "${name}" not found`,
        reason: 'BadRequest',
        code: 400,
      });
    }
    const timestamps = url.searchParams.get('timestamps') === 'true';
    const sinceTime = url.searchParams.get('sinceTime');
    const sinceNs = sinceTime ? BigInt(Date.parse(sinceTime)) * 1_000_000n : 0n;
    const format = (l: LogLine) => `${timestamps ? `${rfc3339Nano(l.ns)} ` : ''}${l.text}\n`;
    let lines = instance.lines.filter((l) => l.ns >= sinceNs);
    const tail = url.searchParams.get('tailLines');
    if (tail !== null) lines = lines.slice(-Number(tail));
    response.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
    if (lines.length > 0) response.write(lines.map(format).join(''));
    if (url.searchParams.get('follow') !== 'true' || instance.ended) return void response.end();
    // Lines are handed to the connection as fast as it takes them, and wait here meanwhile, as a
    // kubelet's log file does: a client that stops reading holds the log at the server.
    const queue: string[] = [];
    let next = 0;
    let queuedBytes = 0;
    let blocked = false;
    let ending = false;
    const stop = () => {
      this.followers.delete(follower);
      queue.length = next = queuedBytes = 0;
    };
    const pump = () => {
      while (!blocked && next < queue.length) {
        const text = queue[next++]!;
        queuedBytes -= text.length;
        if (follower.cut) {
          response.end(text.slice(0, Math.ceil(text.length / 2)));
          this.cuts++;
          return stop();
        }
        if (!response.write(text)) {
          blocked = true;
          response.once('drain', () => {
            blocked = false;
            pump();
          });
        }
      }
      if (next === queue.length) queue.length = next = 0;
      if (ending && queue.length === 0) {
        response.end();
        stop();
      }
    };
    const follower: Follower = {
      container,
      instance,
      cut: false,
      quiet: false,
      unsent: () => queuedBytes,
      send: (line) => {
        const text = format(line);
        queue.push(text);
        queuedBytes += text.length;
        pump();
      },
      end: () => {
        ending = true;
        pump();
      },
    };
    this.followers.add(follower);
    request.on('close', () => this.followers.delete(follower));
  }
}

function parseSelector(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const term of text.split(',').filter(Boolean)) {
    const [key, value] = term.split('=');
    out[key!] = value ?? '';
  }
  return out;
}

function matches(pod: Pod, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => pod.labels[k] === v);
}
