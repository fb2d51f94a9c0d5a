/**
 * What a run serves on --metrics-port: its counters, the spool's and the link's, and the health
 * probes. Loaded only when metrics are served: prom-client costs about 9 MB of memory.
 */
import type { ShipOptions } from '../cli/ship-options.js';
import type { Sender } from '../forward/sender.js';
import type { KubeStatus } from '../input/kube/source.js';
import { watchHealth } from '../metrics/health.js';
import { createShipMetrics, type DiskWaits, type TlsExpiries } from '../metrics/metrics.js';
import { startMetricsServer, type MetricsServer } from '../metrics/server.js';
import type { Spool } from '../spool/spool.js';
import type { Checkpoint } from './checkpoint.js';
import type { ShipCounts } from './counts.js';
import type { DeadLetterFile } from './dead-letter.js';

export interface RunMetricsParts {
  counts: ShipCounts;
  spool: Spool;
  sender: Sender;
  kube: KubeStatus | null;
  checkpoint: Checkpoint | null;
  deadLetter: DeadLetterFile | null;
  tlsExpiries: TlsExpiries | undefined;
}

/** The options that shape what is served, and where. */
export type RunMetricsOptions = Pick<ShipOptions, 'spoolMaxBytes' | 'metricsHost' | 'watchdog'> & { metricsPort: number };

export interface ServedMetrics {
  server: MetricsServer;
  /** Stops the health watch (the server is closed on its own). */
  stopHealth(): void;
}

export async function serveRunMetrics(parts: RunMetricsParts, options: RunMetricsOptions): Promise<ServedMetrics> {
  const { counts, spool, sender, kube, tlsExpiries } = parts;
  const diskWaits = diskWaitsOf(parts);
  const { spoolMaxBytes } = options;
  const metrics = createShipMetrics({ counts, spool: spool.stats, sender, spoolMaxBytes, kube, diskWaits, tlsExpiries });
  sender.on('acked', (_chunk, ms) => metrics.ackLatency.observe(ms / 1000));
  const health = watchHealth(sender, spool, kube, options.watchdog, diskWaits);
  try {
    const server = await startMetricsServer(metrics.registry, options.metricsHost, options.metricsPort, health);
    return { server, stopHealth: () => health.stop() };
  } catch (error) {
    health.stop();
    throw error;
  }
}

/** The files this run writes, and whether a write to each waits for disk room. */
function diskWaitsOf({ spool, checkpoint, deadLetter, kube }: RunMetricsParts): DiskWaits {
  return () => ({
    spool: spool.diskFull,
    ...(checkpoint ? { checkpoint: checkpoint.waitingForRoom } : {}),
    ...(deadLetter ? { dead_letter: deadLetter.waitingForRoom } : {}),
    ...(kube ? { kubectl_positions: kube.positionsWaitingForRoom() } : {}),
  });
}
