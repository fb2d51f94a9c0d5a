/**
 * Pods writing as the platform does: audit records among application log lines and stack traces,
 * spread over whichever pods are up, a few lines at a time. The records come from a ledger, so a
 * test can tell exactly which arrived.
 */
import { spawnSync } from 'node:child_process';
import type { FakeKubeApi } from './kube-api.js';

const APP_LINES = [
  'INFO  [main] seldon-deploy: reconciling deployment income-classifier',
  'java.lang.IllegalStateException: model not ready',
  '\tat io.seldon.deploy.Reconciler.run(Reconciler.java:42)',
  '',
];

export interface Feed {
  /** Resolves when every record was written. */
  done: Promise<void>;
  /** Records written so far. */
  written: () => number;
  stop: () => void;
}

/**
 * Writes `records` (whole lines) to the pods `pods()` names, `perTick` lines every `everyMs`,
 * round robin, with an application line after every third record. `before(i)` runs before record
 * i is written (a fault at a known point); it returns how many records it wrote itself, if any.
 * While `paused()` is true, ticks write nothing.
 */
export function feed(
  api: FakeKubeApi,
  records: readonly string[],
  pods: () => string[],
  options: { everyMs?: number; perTick?: number; before?: (i: number) => number | void; paused?: () => boolean } = {},
): Feed {
  let i = 0;
  let stopped = false;
  let turn = 0;
  const done = new Promise<void>((resolve) => {
    const tick = () => {
      if (stopped) return resolve();
      const perTick = options.paused?.() ? 0 : (options.perTick ?? 4);
      for (let n = 0; n < perTick && i < records.length; n++) {
        i += options.before?.(i) ?? 0;
        if (i >= records.length) break;
        const up = pods();
        const pod = up[turn++ % up.length]!;
        api.write(pod, records[i]!.trimEnd());
        if (i % 3 === 2) api.write(pod, APP_LINES[i % APP_LINES.length]!);
        i++;
      }
      if (i >= records.length) return resolve();
      setTimeout(tick, options.everyMs ?? 5);
    };
    tick();
  });
  return { done, written: () => i, stop: () => void (stopped = true) };
}

/** Why the real-kubectl tests cannot run here, or null when they can. */
export function kubectlMissing(): string | null {
  const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (probe.error) return `kubectl is not on PATH (${(probe.error as NodeJS.ErrnoException).code}); these tests need the real one`;
  return null;
}
