/**
 * deploy/kubernetes as `kubectl kustomize` renders it, with no cluster: least-privilege RBAC, one
 * shipper on its spool (Recreate), secrets only through env and volumes, probes on the metrics
 * port, a locked-down securityContext, and arguments audit-ship itself accepts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { runCli, tempDir } from '../helpers/cli.js';
import { kubectlMissing } from '../helpers/kube-feed.js';
import { fixture, ROOT } from '../helpers/paths.js';

interface K8sObject {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

interface Container {
  args: string[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  securityContext: { allowPrivilegeEscalation: boolean; readOnlyRootFilesystem: boolean; capabilities: { drop: string[] } };
  volumeMounts: { name: string; mountPath: string }[];
}

interface PodSpec {
  serviceAccountName: string;
  securityContext: { runAsNonRoot: boolean; seccompProfile: { type: string } };
  containers: Container[];
  volumes: { name: string; persistentVolumeClaim?: { claimName: string }; secret?: { secretName: string } }[];
}

function render(dir: string): K8sObject[] {
  const out = spawnSync('kubectl', ['kustomize', join(ROOT, dir)], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  return parseAllDocuments(out.stdout).map((d) => d.toJSON() as K8sObject);
}

function one(objects: K8sObject[], kind: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!;
}

function podSpec(objects: K8sObject[]): PodSpec {
  return (one(objects, 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
}

describe('deploy/kubernetes', { skip: kubectlMissing() ?? false }, () => {
  const base = render('deploy/kubernetes');
  const tls = render('deploy/kubernetes/overlays/tls-aggregator');

  it('renders the objects a shipper needs, in one namespace, and no PodDisruptionBudget', () => {
    assert.deepEqual(base.map((o) => o.kind).sort(), [
      'Deployment',
      'PersistentVolumeClaim',
      'PrometheusRule',
      'Role',
      'RoleBinding',
      'Service',
      'ServiceAccount',
      'ServiceMonitor',
    ]);
    assert.deepEqual(new Set(base.map((o) => o.metadata.namespace)), new Set(['seldon-system']));
  });

  it('grants exactly pods get/list/watch and pods/log get, in the namespace, to its own ServiceAccount', () => {
    const role = one(base, 'Role') as unknown as { rules: unknown[] };
    assert.deepEqual(role.rules, [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
    ]);
    const binding = one(base, 'RoleBinding') as unknown as {
      roleRef: { kind: string; name: string };
      subjects: { kind: string; name: string }[];
    };
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'audit-ship' });
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'audit-ship', namespace: 'seldon-system' }]);
    assert.equal(podSpec(base).serviceAccountName, one(base, 'ServiceAccount').metadata.name);
  });

  it('runs one replica with the Recreate strategy, its spool on the claim', () => {
    const spec = (one(base, 'Deployment') as unknown as { spec: { replicas: number; strategy: { type: string } } }).spec;
    assert.equal(spec.replicas, 1);
    assert.equal(spec.strategy.type, 'Recreate', 'two shippers never share the spool during a rollout');
    const pod = podSpec(base);
    const claim = pod.volumes.find((v) => v.persistentVolumeClaim)!;
    assert.equal(claim.persistentVolumeClaim!.claimName, one(base, 'PersistentVolumeClaim').metadata.name);
    const mount = pod.containers[0]!.volumeMounts.find((m) => m.name === claim.name)!;
    const args = pod.containers[0]!.args;
    assert.ok(args[args.indexOf('--spool-dir') + 1]!.startsWith(`${mount.mountPath}/`), 'the spool is on the volume');
  });

  it('reaches secrets only through env and volumes, never in args', () => {
    for (const objects of [base, tls]) {
      const c = podSpec(objects).containers[0]!;
      for (const arg of c.args) assert.doesNotMatch(arg, /^--(shared-key|password|username)\b/, arg);
      const key = c.env.find((e) => e.name === 'AUDIT_SHIP_SHARED_KEY')!;
      assert.equal(key.value, undefined);
      assert.deepEqual(key.valueFrom!.secretKeyRef, { name: 'audit-ship', key: 'shared-key', optional: true });
    }
    const pod = podSpec(tls);
    const secret = pod.volumes.find((v) => v.secret)!;
    assert.equal(secret.secret!.secretName, 'audit-ship-tls');
    const mount = pod.containers[0]!.volumeMounts.find((m) => m.name === secret.name)!;
    for (const flag of ['--tls-ca', '--tls-cert', '--tls-key'])
      assert.ok(
        pod.containers[0]!.args.some((a) => a.startsWith(`${flag}=${mount.mountPath}/`)),
        `${flag} from the mounted Secret`,
      );
  });

  it('probes /healthz and /readyz on the port the metrics are served on, and the Service and ServiceMonitor find it', () => {
    const c = podSpec(base).containers[0]!;
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    const port = c.ports.find((p) => p.name === c.livenessProbe.httpGet.port)!;
    assert.equal(c.readinessProbe.httpGet.port, port.name);
    assert.equal(c.args[c.args.indexOf('--metrics-port') + 1], String(port.containerPort));
    assert.equal(c.args[c.args.indexOf('--metrics-host') + 1], '0.0.0.0');
    const service = one(base, 'Service') as unknown as {
      spec: { selector: Record<string, string>; ports: { name: string; targetPort: string }[] };
    };
    const podLabels = (one(base, 'Deployment') as unknown as { spec: { template: { metadata: { labels: Record<string, string> } } } }).spec
      .template.metadata.labels;
    for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(podLabels[k], v, `the Service selects the pod (${k})`);
    assert.equal(service.spec.ports[0]!.targetPort, port.name);
    const monitor = one(base, 'ServiceMonitor') as unknown as {
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
    };
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) assert.equal(one(base, 'Service').metadata.labels![k], v);
    assert.deepEqual(
      monitor.spec.endpoints.map((e) => [e.port, e.path]),
      [[service.spec.ports[0]!.name, '/metrics']],
    );
  });

  it('locks the container down: non-root, read-only root, no capabilities, RuntimeDefault seccomp', () => {
    const pod = podSpec(base);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
    const c = pod.containers[0]!;
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.ok(
      c.volumeMounts.some((m) => m.mountPath === '/tmp'),
      'kubectl writes its cache under /tmp: a volume, the root being read-only',
    );
  });

  it('gives audit-ship arguments and an environment it accepts', async () => {
    // The Secret's files, as the overlay mounts them: the test certificates stand in.
    const secret = tempDir();
    copyFileSync(fixture('tls/ca.pem'), join(secret, 'ca.crt'));
    copyFileSync(fixture('tls/server.pem'), join(secret, 'tls.crt'));
    copyFileSync(fixture('tls/server.key'), join(secret, 'tls.key'));
    for (const objects of [base, tls]) {
      const container = podSpec(objects).containers[0]!;
      const args = container.args.map((a) => a.replace('/etc/audit-ship/tls/', `${secret}/`));
      const env = Object.fromEntries(container.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
      // Everything is parsed and checked before kubectl is run; with none on PATH, that is where it stops
      // (node itself refuses NODE_OPTIONS it does not allow, before audit-ship runs).
      const res = await runCli([...args, '--spool-dir', join(tempDir(), 'spool')], { env: { ...env, PATH: tempDir() } });
      assert.match(res.stderr, /--kubectl: kubectl was not found on PATH/, res.stderr);
    }
  });

  it("keeps the live tail's young generation small, as its comment says", () => {
    const env = podSpec(base).containers[0]!.env;
    const nodeOptions = env.find((e) => e.name === 'NODE_OPTIONS')?.value;
    assert.ok(nodeOptions, 'NODE_OPTIONS is set');
    // Objects that outlive a scavenge or two, as records waiting for their chunk do: V8 grows the new space for them.
    const allocate = 'let kept = []; for (let i = 0; i < 2e6; i++) { kept.push({ i }); if (kept.length > 1e5) kept = []; }';
    const newSpace = "require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size";
    const out = spawnSync(process.execPath, ['-e', `${allocate} console.log(${newSpace})`], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: nodeOptions },
    });
    assert.equal(out.status, 0, out.stderr);
    assert.ok(Number(out.stdout) <= 2 * 1024 ** 2, `new space of ${out.stdout.trim()} bytes`);
  });
});
