/**
 * The metrics of `--kubectl`: the pods and streams followed, restarts, lag and records per pod.
 * Per-pod labels come and go with the pods: only the containers followed now carry them, so
 * their number is bounded by the pods the workload runs at once.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { counter, gauge } from './collectors.js';
import type { StreamState } from '../input/kube/container-stream.js';
import type { KubeStatus } from '../input/kube/source.js';

const STATES: StreamState[] = ['waiting', 'following', 'backing-off'];

export function registerKubeMetrics(registry: Registry, kube: KubeStatus): void {
  const live = () => kube.streams().filter((s) => s.state !== 'ended');
  gauge(
    registry,
    kube,
    'audit_ship_kubectl_pods',
    'Pods followed now (their containers are followed or waiting for a stream).',
    () => new Set(live().map((s) => `${s.pod.namespace}/${s.pod.name}`)).size,
  );
  new Gauge({
    name: 'audit_ship_kubectl_streams',
    help: 'Pod container streams by state: waiting (over --kubectl-max-streams), following, backing-off.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const streams = live();
      for (const state of STATES) this.set({ state }, streams.filter((s) => s.state === state).length);
    },
  });
  counter(registry, kube, 'audit_ship_kubectl_stream_restarts_total', 'kubectl logs runs that ended and were started again.', (k) =>
    k.restarts(),
  );
  counter(
    registry,
    kube,
    'audit_ship_kubectl_quiet_restarts_total',
    'Of those, follows stopped for giving nothing new for --kubectl-silence (a follow can go quiet when the node rotates the log).',
    (k) => k.quietRestarts(),
  );
  counter(
    registry,
    kube,
    'audit_ship_kubectl_streams_ended_total',
    'Pod container streams read to their end (the pod deleted or finished).',
    (k) => k.ended,
  );
  new Gauge({
    name: 'audit_ship_kubectl_lag_seconds',
    help: 'Now minus the kubelet time of the last line read, by pod and container (grows while a pod writes nothing).',
    labelNames: ['followed_pod', 'followed_container'],
    registers: [registry],
    collect() {
      this.reset();
      const now = Date.now();
      for (const s of live())
        if (s.lastReadMs !== null) this.set({ followed_pod: s.pod.name, followed_container: s.container }, (now - s.lastReadMs) / 1000);
    },
  });
  new Counter({
    name: 'audit_ship_kubectl_records_total',
    help: 'Valid audit records read, by pod and container (followed now).',
    labelNames: ['followed_pod', 'followed_container'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of live()) this.inc({ followed_pod: s.pod.name, followed_container: s.container }, s.records);
    },
  });
}
