/**
 * Every metric audit-ship exposes, in one place. Counters are read from the run's counts when
 * scraped (not incremented on the hot path), so the metrics and the summary are the same numbers.
 * docs/metrics.md lists every metric here (a test compares them).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ACK_LATENCY_BUCKETS, counter, gauge, labelledCounter } from './collectors.js';
import type { Sender, SenderState } from '../forward/sender.js';
import type { ShipCounts } from '../ship/counts.js';
import type { SpoolStats } from '../spool/stats.js';
import type { KubeStatus } from '../input/kube/source.js';
import { registerKubeMetrics } from './kube-metrics.js';
import { registerServerMetrics } from './server-metrics.js';

export interface MetricSources {
  counts: ShipCounts;
  spool: SpoolStats;
  /** The pool of Fluentd servers. */
  sender: Sender;
  /** The spool's cap (--spool-max-bytes), for alerts on how full it is. */
  spoolMaxBytes: number;
  /** The pod streams, when following kubectl. */
  kube: KubeStatus | null;
  /** The files the run writes (see DiskWaits). */
  diskWaits: DiskWaits;
  /** When the certificates in --tls-ca and --tls-cert expire; none without them. */
  tlsExpiries?: TlsExpiries | undefined;
}

/** The `file` label of the TLS expiry metric: the files that hold certificates. */
export type TlsCertificateFile = 'tls_ca' | 'tls_cert';

/** Seconds since the epoch at which each TLS file given expires (its last CA, its client chain's first certificate), by its `file` label. */
export type TlsExpiries = () => Partial<Record<TlsCertificateFile, number>>;

/** A file a run writes that waits out a full disk, by its `file` label. */
export type DiskFile = 'spool' | 'checkpoint' | 'dead_letter' | 'kubectl_positions';

/** The files the run writes, each true while a write to it waits for disk room. */
export type DiskWaits = () => Partial<Record<DiskFile, boolean>>;

const SENDER_STATES: SenderState[] = ['disconnected', 'connecting', 'connected', 'closed'];

export interface ShipMetrics {
  registry: Registry;
  ackLatency: Histogram;
}

export function createShipMetrics(sources: MetricSources): ShipMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters: `promtool check metrics` rejects them, and nothing here needs them.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
    registry.removeSingleMetric(name);
  const c = (s: MetricSources) => s.counts;
  counter(registry, sources, 'audit_ship_lines_read_total', 'Input lines read.', (s) => c(s).lines);
  counter(registry, sources, 'audit_ship_input_bytes_total', 'Input bytes read (compressed bytes for .gz).', (s) => c(s).bytesRead);
  counter(registry, sources, 'audit_ship_records_valid_total', 'Audit records that passed validation and were spooled.', (s) => c(s).valid);
  labelledCounter(
    registry,
    sources,
    'audit_ship_records_invalid_total',
    'Invalid audit lines by diagnostic code (a line with several codes counts under each).',
    'code',
    (s) => c(s).invalidByCode,
  );
  labelledCounter(registry, sources, 'audit_ship_lines_skipped_total', 'Lines read and not shipped, by reason.', 'reason', (s) => ({
    not_audit_record: c(s).skipped,
    blank: c(s).blank,
    duplicate: c(s).duplicates,
    filtered: c(s).filtered,
  }));
  counter(registry, sources, 'audit_ship_records_dead_lettered_total', 'Invalid lines written to --dead-letter.', (s) => c(s).deadLettered);
  counter(
    registry,
    sources,
    'audit_ship_records_dropped_total',
    'Records deleted unsent from a full spool (drop-oldest).',
    (s) => s.spool.droppedRecords,
  );
  counter(
    registry,
    sources,
    'audit_ship_records_vanished_total',
    'Records lost from the spool unsent: their segment file was deleted, or their chunk changed in it, by something other than audit-ship.',
    (s) => s.spool.vanishedRecords,
  );
  counter(
    registry,
    sources,
    'audit_ship_records_not_spooled_total',
    'Valid records read but never written to the spool (a write failed, e.g. a full disk).',
    (s) => c(s).recordsNotSpooled,
  );
  counter(
    registry,
    sources,
    'audit_ship_input_files_failed_total',
    'Input files left at a fault partway (a truncated gzip, a file replaced mid-run); the files after them are read.',
    (s) => c(s).filesFailed,
  );
  counter(registry, sources, 'audit_ship_records_sent_total', 'Records sent to Fluentd (resends not included).', (s) => c(s).recordsSent);
  counter(registry, sources, 'audit_ship_sent_bytes_total', 'Entry bytes sent to Fluentd (resends not included).', (s) => c(s).bytesSent);
  counter(registry, sources, 'audit_ship_records_acked_total', 'Records acked by Fluentd.', (s) => c(s).recordsAcked);
  counter(registry, sources, 'audit_ship_acked_bytes_total', 'Entry bytes acked by Fluentd.', (s) => c(s).bytesAcked);
  counter(registry, sources, 'audit_ship_chunks_acked_total', 'Chunks acked by Fluentd.', (s) => c(s).chunksAcked);
  counter(
    registry,
    sources,
    'audit_ship_connect_retries_total',
    'Connection attempts that failed and were retried.',
    (s) => c(s).connectRetries,
  );
  counter(
    registry,
    sources,
    'audit_ship_chunks_resent_total',
    'Chunks sent again after a lost connection or ack timeout.',
    (s) => c(s).resends,
  );
  counter(
    registry,
    sources,
    'audit_ship_spool_damaged_total',
    'Torn or corrupt spool ranges found at start and set aside.',
    (s) => s.spool.damagedRanges,
  );
  gauge(registry, sources, 'audit_ship_spool_bytes', 'Bytes in spool segments on disk.', (s) => s.spool.bytes);
  gauge(registry, sources, 'audit_ship_spool_max_bytes', 'The spool cap (--spool-max-bytes).', (s) => s.spoolMaxBytes);
  gauge(registry, sources, 'audit_ship_spool_chunks', 'Chunks in the spool, not yet acked.', (s) => s.spool.chunks);
  gauge(registry, sources, 'audit_ship_spool_records', 'Records in the spool, not yet acked.', (s) => s.spool.records);
  gauge(registry, sources, 'audit_ship_chunks_in_flight', 'Chunks sent and awaiting their ack.', (s) => s.sender.inFlightCount);
  new Gauge({
    name: 'audit_ship_connection_state',
    help: 'The link to Fluentd (connected: at least one server is up): 1 for the current state, 0 for the others.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const now = sources.sender.state;
      for (const state of SENDER_STATES) this.set({ state }, state === now ? 1 : 0);
    },
  });
  new Gauge({
    name: 'audit_ship_disk_full',
    help: 'Files the run writes: 1 while a write to that file waits for disk room (ENOSPC, EDQUOT, EFBIG), else 0.',
    labelNames: ['file'],
    registers: [registry],
    collect() {
      for (const [file, waits] of Object.entries(sources.diskWaits())) this.set({ file }, waits ? 1 : 0);
    },
  });
  const { tlsExpiries } = sources;
  if (tlsExpiries) {
    new Gauge({
      name: 'audit_ship_tls_certificate_expiry_timestamp_seconds',
      help: 'When each TLS file given expires, in seconds since the epoch: --tls-ca at its last certificate (a bundle verifies until then), --tls-cert at the first of its chain; read at each scrape.',
      labelNames: ['file'],
      registers: [registry],
      collect() {
        for (const [file, at] of Object.entries(tlsExpiries())) this.set({ file }, at);
      },
    });
  }
  new Counter({
    name: 'deploy_audit_logs_total',
    help: "Audit records written, by output and status (the platform's own metric, kept for its dashboards).",
    labelNames: ['output', 'status'],
    registers: [registry],
    collect() {
      const k = sources.counts;
      this.reset();
      this.inc({ output: 'fluentd', status: 'success' }, k.recordsAcked);
      this.inc({ output: 'fluentd', status: 'failure' }, k.recordsResent + sources.spool.droppedRecords + sources.spool.vanishedRecords);
      this.inc({ output: 'writer', status: 'success' }, k.recordsWritten);
      this.inc({ output: 'writer', status: 'failure' }, 0);
    },
  });
  const ackLatency = new Histogram({
    name: 'audit_ship_ack_latency_seconds',
    help: 'Time from sending a chunk to its ack.',
    registers: [registry],
    buckets: ACK_LATENCY_BUCKETS,
  });
  registerServerMetrics(registry, sources.sender);
  if (sources.kube) registerKubeMetrics(registry, sources.kube);
  return { registry, ackLatency };
}
