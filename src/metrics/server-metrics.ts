/**
 * The metrics of each Fluentd server in the pool, labelled `server` (`host:port`, or
 * `name@address:port` for an address a name resolved to). Only the servers in the pool now carry
 * a label, and a server DNS stops listing takes its series with it: the number of series is bounded
 * by the --host and --standby values and the addresses they resolve to at once.
 */
import { Gauge, Histogram, type Registry } from 'prom-client';
import { ACK_LATENCY_BUCKETS, labelledCounter } from './collectors.js';
import type { Sender } from '../forward/sender.js';
import type { ServerLink } from '../forward/server-link.js';

/**
 * `standby`: a standby server not taking chunks (every regular server is not down). `refused`: it
 * refused this client (shared key, credentials, TLS) while other servers take the chunks; it stays
 * so through the tries again now and then, until one gets through.
 */
export const SERVER_STATES = ['up', 'connecting', 'down', 'standby', 'refused'] as const;

function stateOf(link: ServerLink): (typeof SERVER_STATES)[number] {
  if (link.refused) return 'refused';
  return link.state === 'idle' ? 'standby' : link.state;
}

/** Each server's number, keyed by its label: what a `server`-labelled counter reads when scraped. */
function perServer(sender: Sender, read: (l: ServerLink) => number): Record<string, number> {
  return Object.fromEntries(sender.servers().map((link) => [link.label, read(link)]));
}

export function registerServerMetrics(registry: Registry, sender: Sender): void {
  new Gauge({
    name: 'audit_ship_server_state',
    help: 'Each Fluentd server: 1 for its current state (up, connecting, down, standby, refused), 0 for the others.',
    labelNames: ['server', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const link of sender.servers()) {
        const now = stateOf(link);
        for (const state of SERVER_STATES) this.set({ server: link.label, state }, state === now ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'audit_ship_server_chunks_in_flight',
    help: 'Chunks sent to each server and awaiting its ack.',
    labelNames: ['server'],
    registers: [registry],
    collect() {
      this.reset();
      for (const link of sender.servers()) this.set({ server: link.label }, link.inFlight.size);
    },
  });
  new Gauge({
    name: 'audit_ship_server_certificate_expiry_timestamp_seconds',
    help: 'When the certificate chain each server presented at its last TLS connection expires (its first certificate to), in seconds since the epoch.',
    labelNames: ['server'],
    registers: [registry],
    collect() {
      this.reset();
      for (const link of sender.servers()) if (link.certificateExpiry !== null) this.set({ server: link.label }, link.certificateExpiry);
    },
  });
  const counter = (name: string, help: string, read: (l: ServerLink) => number) =>
    labelledCounter(registry, sender, name, help, 'server', (x) => perServer(x, read));
  counter('audit_ship_server_chunks_acked_total', 'Chunks acked, by server.', (l) => l.chunksAcked);
  counter('audit_ship_server_records_acked_total', 'Records acked, by server.', (l) => l.recordsAcked);
  counter(
    'audit_ship_server_chunks_resent_total',
    'Chunks a server left unacked (connection lost, ack timeout) and that were sent again, by the server that failed them.',
    (l) => l.chunksReturned,
  );
  const latency = new Histogram({
    name: 'audit_ship_server_ack_latency_seconds',
    help: 'Time from sending a chunk to its ack, by server.',
    labelNames: ['server'],
    registers: [registry],
    buckets: ACK_LATENCY_BUCKETS,
  });
  sender.on('acked', (_chunk, ms, link) => latency.observe({ server: link.label }, ms / 1000));
  sender.on('server', (link) => {
    if (!sender.servers().includes(link)) latency.remove({ server: link.label });
  });
}
