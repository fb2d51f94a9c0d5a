/**
 * The metrics endpoint: `/metrics` for Prometheus, `/healthz` (liveness: the process is not stuck)
 * and `/readyz` (readiness: shipping), with what src/metrics/health.ts says.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { OutputError, describeSystemError } from '../errors.js';
import { describe } from '../forward/endpoint.js';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** The answers of the probes: null when all is well, else why not. */
export interface Probes {
  ready(): string | null;
  healthy(): string | null;
}

/**
 * Connections the endpoint holds at once. Inside a pod it listens on every address: a peer that
 * opened thousands of connections and sent nothing held a file descriptor each, the ones the spool,
 * the sockets to Fluentd and kubectl's pipes need. A scraper and the kubelet's probes need a few.
 */
export const METRICS_MAX_CONNECTIONS = 32;
/** A connection silent this long (no request, or one that stalls) is closed. */
const METRICS_IDLE_TIMEOUT_MS = 10_000;

export async function startMetricsServer(registry: Registry, host: string, port: number, probes: Probes): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: Error) => response.writeHead(500).end(`${error.message}\n`),
      );
    } else if (path === '/healthz') {
      const problem = probes.healthy();
      response.writeHead(problem ? 503 : 200, { 'content-type': 'text/plain' }).end(`${problem ?? 'ok'}\n`);
    } else if (path === '/readyz') {
      const problem = probes.ready();
      response.writeHead(problem ? 503 : 200, { 'content-type': 'text/plain' }).end(`${problem ?? 'ready'}\n`);
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(listenError(error, host, port)));
    server.listen(port, host, resolve);
  });
  server.maxConnections = METRICS_MAX_CONNECTIONS;
  // Node's request timeouts start with a request's first byte: a connection that sends none stays.
  server.timeout = METRICS_IDLE_TIMEOUT_MS;
  server.unref();
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Host errors name --metrics-host (once all named --metrics-port, whatever the cause). */
const HOST_ERRORS = new Set(['EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAFNOSUPPORT']);

function listenError(error: Error, host: string, port: number): OutputError {
  const option = HOST_ERRORS.has((error as NodeJS.ErrnoException).code ?? '') ? `--metrics-host ${host}` : `--metrics-port ${port}`;
  return new OutputError(`${option}: cannot listen on ${describe({ host, port })}: ${describeSystemError(error)}`, { cause: error });
}
