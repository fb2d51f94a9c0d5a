/**
 * A pipeline that cannot ship holds kubectl back: the lines of the pods wait at the API server (in
 * kubectl's and the kernel's buffers at most), not in audit-ship's memory, and none is lost once
 * Fluentd takes them. A pod's backlog after a stall is the case: kubectl sends all of it at once.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../helpers/cli.js';
import { FakeKubeApi } from '../../helpers/kube-api.js';
import { kubectlMissing } from '../../helpers/kube-feed.js';
import { Ledger } from '../../helpers/ledger.js';
import { freePort } from '../../helpers/net.js';
import { receivers } from '../../helpers/receive-cli.js';
import { scrapeUntil, startMeteredShip, waitFor } from '../../helpers/ship-cli.js';

const receiver = receivers();
const LABELS = { app: 'seldon-deploy' };
const RECORDS = 60_000;
const MB = 1024 * 1024;

/** The peak RSS of a process, from /proc; null where there is none. */
function peakRssBytes(pid: number): number | null {
  const status = `/proc/${pid}/status`;
  if (!existsSync(status)) return null;
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(status, 'utf8'))?.[1];
  return kb === undefined ? null : Number(kb) * 1024;
}

/** Waits until `read()` gives the same value `times` polls in a row, and returns it. */
async function settled(read: () => number, times = 10): Promise<number> {
  let last = read();
  let same = 0;
  await waitFor(() => {
    const now = read();
    same = now === last ? same + 1 : 0;
    last = now;
    return same >= times;
  }, 'the log stream to settle');
  return last;
}

describe('audit-ship --kubectl under backpressure', { skip: kubectlMissing() ?? false }, () => {
  it('stops reading kubectl while the spool is full, and ships every line once Fluentd is back', async (t) => {
    const api = await new FakeKubeApi().start();
    t.after(() => api.close());
    api.addDeployment('seldon-deploy', LABELS);
    api.addPod('sd-a', LABELS);
    const port = await freePort();
    const ship = await startMeteredShip(
      ['--kubectl', 'deploy/seldon-deploy', '--port', String(port), '--spool-max-bytes', '1m', '--retry-timeout', '10m', '--no-progress'],
      { ...api.kubectlEnv(), AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool') },
    );
    await waitFor(() => api.openStreams === 1, 'the log stream open');
    // Written to the open stream line by line, as a pod does: each line leaves the server's
    // memory once the connection has taken it.
    const ledger = new Ledger(RECORDS, 23);
    for (const line of ledger.lines) api.write('sd-a', line.trimEnd());
    const logBytes = ledger.lines.reduce((n, l) => n + l.length, 0);
    // Nothing listens on the port: the spool fills, the pipeline stops, and so must the streams.
    await scrapeUntil(ship, (m) => (m.get('audit_ship_spool_bytes') ?? 0) > 512 * 1024, 'a full spool');
    const unsent = await settled(() => api.unsentLogBytes);
    assert.ok(
      unsent > logBytes / 2,
      `the API server still holds most of the ${(logBytes / MB).toFixed(0)} MB log (${(unsent / MB).toFixed(1)} MB unsent)`,
    );
    const rss = peakRssBytes(ship.child.pid!);
    if (rss !== null) assert.ok(rss < 128 * MB, `peak RSS ${(rss / MB).toFixed(0)} MB`);

    const r = await receiver(['--port', String(port)]);
    await waitFor(() => ledger.missing(r.requestIds()).length === 0, `all ${RECORDS} records at the receiver`);
    assert.equal(await ship.exit('SIGTERM'), 0, ship.stderr());
    assert.equal(ledger.assertComplete(r.requestIds()), 0, 'no record arrived twice');
  });
});
