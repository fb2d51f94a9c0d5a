/** The metrics endpoint of a running `audit-ship`, scraped over HTTP and compared with its summary. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit.js';
import { METRICS_MAX_CONNECTIONS } from '../../src/metrics/server.js';
import { sampleLines } from '../../src/sample/generate.js';
import { metricSamples } from '../helpers/ledger.js';
import { receivers } from '../helpers/receive-cli.js';
import { FaultServer } from '../helpers/fault-server.js';
import { jsonSummary, startShip, waitFor } from '../helpers/ship-cli.js';

const receiver = receivers();

function metricsUrl(stderr: string): string | null {
  return /metrics on (http:\/\/\S+)\/metrics/.exec(stderr)?.[1] ?? null;
}

describe('metrics endpoint', () => {
  it('counts every hop, agrees with the summary, and passes promtool', async (t) => {
    const r = await receiver();
    const good = [...sampleLines(120, { seed: 51, start: 1632312000 })];
    const input = [
      ...good.slice(0, 60),
      'INFO starting\n',
      '{"RequestID":"nope","Method":"GET"}\n',
      '\n',
      ...good.slice(60),
      '{"RequestID":\n',
    ].join('');
    const ship = startShip([
      '--port',
      String(r.port),
      '--metrics-port',
      '0',
      '--flush-interval',
      '50ms',
      '--summary',
      'json',
      '--chunk-records',
      '50',
    ]);
    await waitFor(() => metricsUrl(ship.stderr()) !== null, 'the metrics address');
    const url = metricsUrl(ship.stderr())!;
    ship.child.stdin!.write(input);
    await waitFor(() => r.events().length >= 120, 'all records at the receiver');
    await waitFor(() => ship.stderr().split('\n').length > 3, 'the diagnostics');

    const response = await fetch(`${url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    let m = metricSamples(text);
    for (let i = 0; i < 100 && m.get('audit_ship_records_acked_total') !== 120; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      m = metricSamples(await (await fetch(`${url}/metrics`)).text());
    }
    assert.equal(m.get('audit_ship_lines_read_total'), 124);
    assert.equal(m.get('audit_ship_records_valid_total'), 120);
    assert.equal(m.get('audit_ship_records_invalid_total{code="not-json"}'), 1);
    assert.equal(m.get('audit_ship_records_invalid_total{code="invalid-uuid"}'), 1);
    assert.equal(m.get('audit_ship_lines_skipped_total{reason="not_audit_record"}'), 1);
    assert.equal(m.get('audit_ship_lines_skipped_total{reason="blank"}'), 1);
    assert.equal(m.get('audit_ship_records_acked_total'), 120);
    assert.equal(m.get('audit_ship_records_sent_total'), 120);
    assert.equal(m.get('deploy_audit_logs_total{output="fluentd",status="success"}'), 120);
    assert.equal(m.get('audit_ship_spool_records'), 0);
    assert.equal(m.get('audit_ship_connection_state{state="connected"}'), 1);
    assert.ok((m.get('audit_ship_ack_latency_seconds_count') ?? 0) >= 3);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);

    assert.equal(await ship.exit(), EXIT.invalidNotKept, ship.stderr());
    const s = jsonSummary(ship.stderr());
    assert.equal(s.lines, m.get('audit_ship_lines_read_total'));
    assert.equal(s.recordsAcked, m.get('audit_ship_records_acked_total'));
    assert.equal(s.invalid + s.skipped + s.blank + s.recordsAcked, s.lines);

    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text });
    if (promtool.error) return t.skip('promtool is not installed (Debian: prometheus)');
    assert.equal(promtool.status, 0, `${promtool.stdout}${promtool.stderr}`);
  });

  it('answers /readyz with 503 until Fluentd is connected', async () => {
    const ship = startShip(['--port', '1', '--metrics-port', '0']);
    await waitFor(() => metricsUrl(ship.stderr()) !== null, 'the metrics address');
    const url = metricsUrl(ship.stderr())!;
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /not connected to Fluentd/);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal((await fetch(`${url}/nope`)).status, 404);
    assert.equal(await ship.exit('SIGTERM'), EXIT.inputUnread, 'stdin had not ended');
  });

  // Each connection a peer opened and left silent held a file descriptor, without bound.
  it(`holds at most ${METRICS_MAX_CONNECTIONS} connections, closes silent ones, and answers again after`, async () => {
    const ship = startShip(['--port', '1', '--metrics-port', '0']);
    await waitFor(() => metricsUrl(ship.stderr()) !== null, 'the metrics address');
    const url = new URL(metricsUrl(ship.stderr())!);
    const extra = 8;
    const sockets: Socket[] = [];
    const closedInOrder: number[] = [];
    const allClosed: Promise<unknown>[] = [];
    for (let i = 0; i < METRICS_MAX_CONNECTIONS + extra; i++) {
      const socket = connect(Number(url.port), url.hostname);
      socket.on('error', () => {});
      allClosed.push(once(socket, 'close').then(() => closedInOrder.push(i)));
      await once(socket, 'connect');
      sockets.push(socket);
    }
    // Every one is closed by the server: those past the limit at once, the others once they have
    // been silent for the idle timeout (10 s). So the first to close are the last opened.
    await Promise.all(allClosed);
    assert.deepEqual(
      closedInOrder.slice(0, extra).sort((a, b) => a - b),
      Array.from({ length: extra }, (_, i) => METRICS_MAX_CONNECTIONS + i),
    );
    assert.equal((await fetch(`${url.origin}/healthz`)).status, 200);
    assert.equal(await ship.exit('SIGTERM'), EXIT.inputUnread, 'stdin had not ended');
  });

  it('is unready while the spool is full, and unhealthy when the sender has not moved for --watchdog', async (t) => {
    let action: 'hold' | 'ack' = 'hold';
    const server = new FaultServer(() => action);
    const port = await server.listen();
    t.after(() => server.close());
    const ship = startShip(
      ['--port', String(port), '--metrics-port', '0', '--spool-max-bytes', '64k', '--chunk-records', '10', '--shutdown-timeout', '0'],
      {},
    );
    ship.child.stdin!.write([...sampleLines(2000, { seed: 52, start: 1632312000 })].join(''));
    await waitFor(() => metricsUrl(ship.stderr()) !== null, 'the metrics address');
    const url = metricsUrl(ship.stderr())!;
    const probe = async (path: string) => {
      const response = await fetch(`${url}${path}`);
      return `${response.status} ${(await response.text()).trim()}`;
    };
    let ready = '';
    await waitFor(() => (void probe('/readyz').then((r) => (ready = r)), ready.includes('spool is full')), 'the spool full');
    assert.equal(ready, '503 the spool is full (--spool-max-bytes): reading waits for acks');
    assert.equal(await probe('/healthz'), '200 ok', 'a full spool is not a stuck process');

    // The default --watchdog is 5 minutes; the same run with 1 s shows it fail and recover.
    await ship.exit('SIGTERM');
    const watched = startShip(['--port', String(port), '--metrics-port', '0', '--watchdog', '1s', '--ack-timeout', '1h']);
    watched.child.stdin!.write([...sampleLines(10, { seed: 53, start: 1632312000 })].join(''));
    await waitFor(() => metricsUrl(watched.stderr()) !== null, 'the metrics address');
    const url2 = metricsUrl(watched.stderr())!;
    let health = '';
    const poll = (want: string) => () => (
      void fetch(`${url2}/healthz`).then(async (r) => (health = `${r.status} ${(await r.text()).trim()}`)),
      health.startsWith(want)
    );
    await waitFor(poll('503'), 'the watchdog to fire');
    assert.match(health, /^503 the sender made no progress for \d+ s with \d+ chunks? waiting \(--watchdog\)$/);
    action = 'ack';
    server.release();
    await waitFor(poll('200'), 'health back once acks come');
    assert.equal(health, '200 ok');
    await watched.exit('SIGTERM');
  });
});
