/**
 * What `/healthz` and `/readyz` answer. Ready: connected to Fluentd, no write waiting for disk
 * room, the spool taking writes, and, when following kubectl, at least one stream following.
 * Healthy: the event loop turns (a timer that should fire every second did, within 10 s) and the
 * sender moves (with chunks waiting, an ack, a resend or a connection attempt within `--watchdog`):
 * a stuck process fails the liveness probe and is restarted, while a slow or unreachable Fluentd
 * or a full disk only makes it unready. Timed on the monotonic clock: a step of the wall clock is
 * no stall.
 */
import type { Sender } from '../forward/sender.js';
import type { KubeStatus } from '../input/kube/source.js';
import type { Spool } from '../spool/spool.js';
import { count } from '../plural.js';
import type { DiskFile, DiskWaits } from './metrics.js';

const TICK_MS = 1000;
const LOOP_STALL_MS = 10_000;

/** The files of DiskWaits, as /readyz names them. */
const DISK_FILE_NAMES: Record<DiskFile, string> = {
  spool: 'the spool',
  checkpoint: 'the --checkpoint file',
  dead_letter: 'the --dead-letter file',
  kubectl_positions: 'the kubectl positions file',
};

export interface Health {
  /** null when ready, else why not. */
  ready(): string | null;
  /** null when healthy, else why not. */
  healthy(): string | null;
  stop(): void;
}

export function watchHealth(sender: Sender, spool: Spool, kube: KubeStatus | null, watchdogMs: number, diskWaits: DiskWaits): Health {
  let lastTick = performance.now();
  let worstGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    worstGap = Math.max(worstGap, now - lastTick);
    lastTick = now;
  }, TICK_MS).unref();
  let moved = performance.now();
  const progress = () => (moved = performance.now());
  for (const event of ['acked', 'resend', 'connect-error', 'connection-lost', 'state'] as const) sender.on(event, progress);
  return {
    ready() {
      if (sender.state !== 'connected') return 'not connected to Fluentd';
      const waiting = Object.entries(diskWaits()).flatMap(([file, waits]) => (waits ? [DISK_FILE_NAMES[file as DiskFile]] : []));
      if (waiting.length > 0) return `the disk is full: writes to ${waiting.join(', ')} wait for room`;
      if (spool.full) return 'the spool is full (--spool-max-bytes): reading waits for acks';
      if (kube && !kube.streams().some((s) => s.state === 'following')) return 'no kubectl stream is following a pod';
      return null;
    },
    healthy() {
      const gap = Math.max(worstGap, performance.now() - lastTick);
      worstGap = 0;
      if (gap > LOOP_STALL_MS) return `the event loop stalled for ${(gap / 1000).toFixed(1)} s`;
      const idle = performance.now() - moved;
      if (spool.stats.chunks > 0 && idle > watchdogMs)
        return `the sender made no progress for ${(idle / 1000).toFixed(0)} s with ${count(spool.stats.chunks, 'chunk')} waiting (--watchdog)`;
      return null;
    },
    stop: () => clearInterval(ticker),
  };
}
