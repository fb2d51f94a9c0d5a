/**
 * How `--kubectl` picks and bounds its streams, with the real kubectl against the fake API server:
 * label selectors, one pod, every container, at most --kubectl-max-streams at once, and what the
 * metrics and the readiness probe say of them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../../src/cli/exit.js';
import { runCli, tempDir } from '../../helpers/cli.js';
import { FakeKubeApi, rfc3339Nano } from '../../helpers/kube-api.js';
import { feed, kubectlMissing } from '../../helpers/kube-feed.js';
import { assertAccounted, Ledger } from '../../helpers/ledger.js';
import { receivers } from '../../helpers/receive-cli.js';
import { jsonSummary, scrapeUntil, startMeteredShip, startShip, waitFor } from '../../helpers/ship-cli.js';
import { normalTime } from '../../../src/input/kube/positions.js';

const receiver = receivers();
const LABELS = { app: 'seldon-deploy' };

describe('audit-ship --kubectl streams', { skip: kubectlMissing() ?? false }, () => {
  it('follows a label selector with at most --kubectl-max-streams at once; a waiting pod gets a stream when one ends', async (t) => {
    const api = await new FakeKubeApi().start();
    t.after(() => api.close());
    for (const pod of ['sd-a', 'sd-b', 'sd-c']) api.addPod(pod, LABELS);
    api.addPod('other', { app: 'other' });
    const r = await receiver();
    const ledger = new Ledger(300, 150);
    // Written before audit-ship starts: the waiting pod's lines are read once it has a stream.
    await feed(api, ledger.lines, () => ['sd-a', 'sd-b', 'sd-c']).done;
    api.write('other', ledger.lines[0]!.trimEnd());
    const ship = await startMeteredShip(
      ['--kubectl', '-l app=seldon-deploy', '--kubectl-max-streams', '2', '--port', String(r.port), '--flush-interval', '50ms'],
      { ...api.kubectlEnv(), AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool') },
    );
    await scrapeUntil(ship, (m) => m.get('audit_ship_kubectl_streams{state="following"}') === 2, 'two streams following');
    const m = await ship.scrape();
    assert.equal(m.get('audit_ship_kubectl_streams{state="waiting"}'), 1);
    assert.equal(m.get('audit_ship_kubectl_pods'), 3, 'the pod of another app is not selected');
    await waitFor(() => api.openStreams === 2, 'two log requests open at the API server');
    api.deletePod('sd-a');
    await waitFor(() => ledger.missing(r.requestIds()).length === 0, 'every record');
    const after = await ship.scrape();
    assert.equal(after.get('audit_ship_kubectl_streams_ended_total'), 1);
    assert.equal(after.get('audit_ship_kubectl_streams{state="waiting"}'), 0);
    // What stderr says matches: two followed, the third waiting until sd-a's stream ended.
    const followed = [...ship.stderr().matchAll(/audit-ship: following default\/(sd-\w)\/main(.*)/g)].map(([, pod, rest]) => [pod, rest]);
    const waited = [
      ...ship.stderr().matchAll(/audit-ship: default\/(sd-\w)\/main waits: the 2 streams of --kubectl-max-streams are all in use/g),
    ].map(([, pod]) => pod);
    assert.equal(waited.length, 1, ship.stderr());
    assert.deepEqual(followed.at(-1), [waited[0], ' (a stream ended)']);
    assert.deepEqual(followed.map(([pod]) => pod).sort(), ['sd-a', 'sd-b', 'sd-c']);
    assert.equal(
      (after.get('audit_ship_kubectl_records_total{followed_pod="sd-b",followed_container="main"}') ?? 0) +
        (after.get('audit_ship_kubectl_records_total{followed_pod="sd-c",followed_container="main"}') ?? 0),
      200,
      'records per pod (sd-a has ended and left)',
    );
    assert.ok((after.get('audit_ship_kubectl_lag_seconds{followed_pod="sd-b",followed_container="main"}') ?? -1) >= 0);
    assert.equal(await ship.exit('SIGTERM'), 0, ship.stderr());
    assert.equal(r.events().length, 300, 'nothing twice, nothing from the other app');
    assert.ok(!api.requests.some((q) => q.includes('tailLines')), 'never a tail');
  });

  it('follows every container with --all-containers, and says it is unready while no stream follows', async (t) => {
    const api = await new FakeKubeApi().start();
    t.after(() => api.close());
    const r = await receiver();
    const ship = await startMeteredShip(['--kubectl', 'pod/sd-a --all-containers', '--port', String(r.port), '--flush-interval', '50ms'], {
      ...api.kubectlEnv(),
      AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool'),
    });
    const url = /metrics on (http:\/\/\S+)\/metrics/.exec(ship.stderr())![1]!;
    await scrapeUntil(ship, (m) => m.get('audit_ship_connection_state{state="connected"}') === 1, 'connected');
    const unready = await fetch(`${url}/readyz`);
    assert.equal(unready.status, 503);
    assert.equal((await unready.text()).trim(), 'no kubectl stream is following a pod');
    api.addPod('sd-a', LABELS, ['main', 'sidecar']);
    const ledger = new Ledger(100, 151);
    ledger.lines.forEach((line, i) => api.write('sd-a', line.trimEnd(), i % 2 ? 'main' : 'sidecar'));
    await waitFor(() => r.events().length >= 100, 'both containers read');
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    const text = await (await fetch(`${url}/metrics`)).text();
    assert.match(text, /audit_ship_kubectl_records_total\{followed_pod="sd-a",followed_container="sidecar"\} 50/);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text });
    if (promtool.error) t.diagnostic('promtool is not installed (Debian: prometheus): the format check is skipped');
    else assert.equal(promtool.status, 0, `${promtool.stdout}${promtool.stderr}`);
    assert.equal(await ship.exit('SIGTERM'), 0, ship.stderr());
    assert.equal(ledger.assertComplete(r.requestIds()), 0);
    const logs = api.requests.filter((q) => q.includes('/log?'));
    assert.ok(logs.some((q) => q.includes('container=main')) && logs.some((q) => q.includes('container=sidecar')));
  });

  // A Completed init container's kubectl run ends at once, and was started again for ever: two
  // kubectl runs every 30 s for each such container of each pod followed, with nothing to read.
  it('reads a Completed init container to its end once, and runs no kubectl for it again', async (t) => {
    const api = await new FakeKubeApi().start();
    t.after(() => api.close());
    api.addPod('sd-a', LABELS, ['main'], { initContainers: ['setup'] });
    const ledger = new Ledger(60, 152);
    for (const line of ledger.lines.slice(0, 10)) api.write('sd-a', line.trimEnd(), 'setup');
    api.completeInit('sd-a', 'setup');
    const r = await receiver();
    const ship = startShip(['--kubectl', 'pod/sd-a --all-containers', '--port', String(r.port), '--flush-interval', '50ms'], {
      ...api.kubectlEnv(),
      AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool'),
    });
    for (const line of ledger.lines.slice(10)) api.write('sd-a', line.trimEnd(), 'main');
    await waitFor(() => r.events().length >= 60, 'both containers read');
    const setupRuns = () => api.requests.filter((q) => q.includes('/log?') && q.includes('container=setup')).length;
    const runs = setupRuns();
    // Restarted with backoff, it would have run again within 0.5, 1.5 and 3.5 s.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    assert.equal(setupRuns(), runs, 'no kubectl logs of the Completed init container after it was read');
    assert.equal(await ship.exit('SIGTERM'), 0, ship.stderr());
    assert.equal(ledger.assertComplete(r.requestIds()), 0);
  });

  // Silence here left a user with a wrong selector, or a deployment scaled to zero, waiting for ever with no word.
  it('says when it finds no pod to follow, and follows the first that starts', async (t) => {
    const api = await new FakeKubeApi().start();
    t.after(() => api.close());
    api.addDeployment('seldon-deploy', LABELS);
    const r = await receiver();
    const env = { ...api.kubectlEnv(), AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool') };
    const ship = await startMeteredShip(['--kubectl', 'deploy/seldon-deploy', '--port', String(r.port), '--flush-interval', '50ms'], env);
    const note = 'audit-ship: deployment/seldon-deploy has no pod (-l app=seldon-deploy) yet; each is followed once it starts';
    await waitFor(() => ship.stderr().includes(note), `"${note}"`);
    api.addPod('sd-a', LABELS);
    const ledger = new Ledger(20, 152);
    for (const line of ledger.lines) api.write('sd-a', line.trimEnd());
    await waitFor(() => r.events().length >= 20, 'the records of the pod that started');
    assert.equal(await ship.exit('SIGTERM'), 0, ship.stderr());
    assert.equal(ledger.assertComplete(r.requestIds()), 0);
    assert.ok(ship.stderr().indexOf('following default/sd-a/main') > ship.stderr().indexOf(note), ship.stderr());
    assert.doesNotMatch(ship.stderr(), /has no configuration/, 'kubectl has one');
    // A selector and a pod name, each said with where it was looked for.
    for (const [target, said] of [
      ['-l app=nothing', 'no pod matches -l app=nothing yet (in the current namespace; -n names another); each is followed once it starts'],
      ['pod/sd-b -n default', 'no pod sd-b yet (in namespace default); it is followed once it starts'],
    ] as const) {
      const other = await startMeteredShip(['--kubectl', target, '--port', String(r.port)], {
        ...env,
        AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool'),
      });
      await waitFor(() => other.stderr().includes(`audit-ship: ${said}`), `"${said}"`);
      assert.equal(await other.exit('SIGTERM'), 0, other.stderr());
    }
  });

  it('-c naming a container a pod does not have: says so of that pod once, and follows the pods that have it', async (t) => {
    const api = await new FakeKubeApi().start();
    t.after(() => api.close());
    api.addDeployment('seldon-deploy', LABELS);
    api.addPod('sd-a', LABELS, ['main']);
    api.addPod('sd-b', LABELS, ['main', 'audit']);
    const r = await receiver();
    const ledger = new Ledger(30, 153);
    for (const line of ledger.lines) api.write('sd-b', line.trimEnd(), 'audit');
    api.write('sd-a', ledger.lines[0]!.trimEnd(), 'main');
    const ship = await startMeteredShip(
      ['--kubectl', 'deploy/seldon-deploy -c audit', '--port', String(r.port), '--flush-interval', '50ms'],
      {
        ...api.kubectlEnv(),
        AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool'),
      },
    );
    await waitFor(() => r.events().length >= 30, 'the records of the container named');
    // A pod that changes (a restart) comes through the watch again: said once all the same.
    api.restart('sd-a', 'main');
    api.addPod('sd-c', LABELS, ['main']);
    const said = (pod: string) => `audit-ship: pod default/${pod} has no container "audit" (it has main); it is not followed`;
    await waitFor(() => ship.stderr().includes(said('sd-c')), said('sd-c'));
    assert.equal(await ship.exit('SIGTERM'), 0, ship.stderr());
    assert.equal(ship.stderr().split(said('sd-a')).length - 1, 1, ship.stderr());
    assert.doesNotMatch(ship.stderr(), /sd-b has no container|no pod/);
    assert.equal(ledger.assertComplete(r.requestIds()), 0);
    assert.equal(r.events().length, 30, "nothing from the pods' other containers");
  });

  // The stream ended there and was never tried again: the run went on, unready, following nothing.
  it('stops the run on a Role without pods/log, naming the right it lacks', async (t) => {
    const api = await new FakeKubeApi().start();
    t.after(() => api.close());
    api.addDeployment('seldon-deploy', LABELS);
    api.addPod('sd-a', LABELS);
    api.forbidLogs = true;
    const r = await receiver();
    const ship = startShip(['--kubectl', 'deploy/seldon-deploy', '--port', String(r.port)], {
      ...api.kubectlEnv(),
      AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool'),
    });
    // Bounded: a run that goes on following nothing fails here, not at the runner's timeout.
    await waitFor(() => ship.child.exitCode !== null, 'the run to stop');
    assert.equal(ship.child.exitCode, EXIT.usage, ship.stderr());
    assert.match(ship.stderr(), /--kubectl: default\/sd-a\/main: Error from server \(Forbidden\): .*cannot get resource "pods\/log"/);
  });

  it("adds kubernetes.{namespace,pod,container} with --kubernetes-metadata, and keeps a record's own field", async (t) => {
    const api = await new FakeKubeApi().start();
    t.after(() => api.close());
    api.addPod('sd-a', LABELS, ['main', 'sidecar']);
    const ledger = new Ledger(40, 152);
    const own = ledger.lines[0]!.trimEnd().replace(/}$/, ',"kubernetes":"its own"}');
    api.write('sd-a', own, 'main');
    ledger.lines.slice(1).forEach((line, i) => api.write('sd-a', line.trimEnd(), i % 2 ? 'main' : 'sidecar'));
    const r = await receiver();
    const ship = await startMeteredShip(
      ['--kubectl', 'pod/sd-a --all-containers', '--kubernetes-metadata', '--port', String(r.port), '--flush-interval', '50ms'],
      { ...api.kubectlEnv(), AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool') },
    );
    await waitFor(() => r.events().length >= 40, 'every record');
    assert.equal(await ship.exit('SIGTERM'), 0, ship.stderr());
    const byId = new Map(r.events().map((e) => [e.record.RequestID as string, e.record]));
    assert.equal(byId.get(ledger.ids[0]!)!.kubernetes, 'its own');
    ledger.ids.slice(1).forEach((id, i) => {
      const { kubernetes, ...record } = byId.get(id)!;
      assert.deepEqual(kubernetes, { namespace: 'default', pod: 'sd-a', container: i % 2 ? 'main' : 'sidecar' });
      assert.deepEqual(record, JSON.parse(ledger.lines[i + 1]!), 'the record itself as written');
    });
  });
});

describe('audit-ship --kubectl silence', { skip: kubectlMissing() ?? false }, () => {
  it('starts a follow that went quiet again from its position (--kubectl-silence), doubling the wait while the pod is idle', async (t) => {
    const api = await new FakeKubeApi().start();
    t.after(() => api.close());
    api.addPod('sd-a', LABELS);
    const r = await receiver();
    const ledger = new Ledger(60, 153);
    const ship = await startMeteredShip(
      ['--kubectl', 'pod/sd-a', '--kubectl-silence', '1s', '--port', String(r.port), '--flush-interval', '50ms'],
      {
        ...api.kubectlEnv(),
        AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool'),
      },
    );
    await waitFor(() => api.openStreams === 1, 'the follow open');
    for (const line of ledger.lines.slice(0, 20)) api.write('sd-a', line.trimEnd());
    await waitFor(() => r.requestIds().length === 20, 'the first lines');
    // The node rotates the log: the open follow stays open and gets nothing more.
    api.quietStreams();
    for (const line of ledger.lines.slice(20)) api.write('sd-a', line.trimEnd());
    await waitFor(() => ledger.missing(r.requestIds()).length === 0, 'the lines written after it went quiet');
    const quiet =
      /default\/sd-a\/main: nothing new for (\S+ \S+) \(a follow can go quiet when the node rotates the log\): kubectl logs stopped; again in/g;
    assert.deepEqual(
      [...ship.stderr().matchAll(quiet)].map((m) => m[1]),
      ['1 s'],
      ship.stderr(),
    );
    // Idle now: the run that read the missed lines and the one after it wait 1 s (a new line came
    // before each), and the next 2 s.
    await waitFor(() => [...ship.stderr().matchAll(quiet)].length === 4, 'three more quiet waits');
    assert.deepEqual(
      [...ship.stderr().matchAll(quiet)].map((m) => m[1]),
      ['1 s', '1 s', '1 s', '2 s'],
      ship.stderr(),
    );
    const m = await ship.scrape();
    assert.ok(m.get('audit_ship_kubectl_quiet_restarts_total')! >= 4);
    assert.equal(
      m.get('audit_ship_kubectl_stream_restarts_total'),
      m.get('audit_ship_kubectl_quiet_restarts_total'),
      'every restart a quiet one',
    );
    assert.equal(await ship.exit('SIGTERM'), 0, ship.stderr());
    ledger.assertComplete(r.requestIds());
    assert.equal(r.requestIds().length, 60, 'nothing twice');
    assert.equal(
      api.requests.filter((q) => q.includes('previous=true')).length,
      0,
      'the container never restarted: no look at a previous one',
    );
  });
});

describe('audit-ship --kubectl positions', { skip: kubectlMissing() ?? false }, () => {
  it('moves the position of a pod that writes no audit record, so a restart does not read it again', async (t) => {
    const api = await new FakeKubeApi().start();
    t.after(() => api.close());
    api.addPod('sd-a', LABELS);
    for (let i = 0; i < 200; i++) api.write('sd-a', `INFO request ${i} served`);
    const spool = join(tempDir(), 'spool');
    const r = await receiver();
    const ship = await startMeteredShip(['--kubectl', 'pod/sd-a', '--port', String(r.port), '--flush-interval', '50ms'], {
      ...api.kubectlEnv(),
      AUDIT_SHIP_SPOOL_DIR: spool,
    });
    const last = api.pods.get('sd-a')!.containers[0]!.instances.at(-1)!.lines.at(-1)!;
    const saved = () => {
      try {
        const file = JSON.parse(readFileSync(join(spool, 'kubectl-positions.json'), 'utf8')) as {
          streams: Record<string, { time: string }>;
        };
        return file.streams['default/sd-a/main']?.time ?? null;
      } catch {
        return null;
      }
    };
    await waitFor(() => saved() === normalTime(rfc3339Nano(last.ns)), 'the position at the last line read');
    assert.equal(await ship.exit('SIGTERM'), 0, ship.stderr());
    const again = await startMeteredShip(['--kubectl', 'pod/sd-a', '--port', String(r.port)], {
      ...api.kubectlEnv(),
      AUDIT_SHIP_SPOOL_DIR: spool,
    });
    await waitFor(() => api.openStreams === 1, 'the stream open again');
    api.write('sd-a', 'INFO one more');
    await scrapeUntil(again, (m) => m.get('audit_ship_lines_read_total') === 1, 'the new line read');
    assert.equal(await again.exit('SIGTERM'), 0);
    assert.equal(jsonSummary(again.stderr()).lines, 1, 'only the line written since');
  });

  it('that cannot be saved: a non-zero exit that names the file, and every line read accounted for', async (t) => {
    const api = await new FakeKubeApi().start();
    t.after(() => api.close());
    api.addPod('sd-a', LABELS);
    const ledger = new Ledger(50, 151);
    for (const line of ledger.lines) api.write('sd-a', line.trimEnd());
    const spool = join(tempDir(), 'spool');
    // The positions are written to FILE.tmp and renamed: a directory in its place fails every save.
    mkdirSync(join(spool, 'kubectl-positions.json.tmp'), { recursive: true });
    const r = await receiver();
    const ship = await startMeteredShip(['--kubectl', 'pod/sd-a', '--port', String(r.port), '--flush-interval', '50ms'], {
      ...api.kubectlEnv(),
      AUDIT_SHIP_SPOOL_DIR: spool,
    });
    await waitFor(() => r.requestIds().length === 50 || ship.child.exitCode !== null, 'the records delivered, or the run stopped');
    const code = await ship.exit('SIGTERM');
    // Found at the next save (the reading stops: exit 4), or only as the run ends (exit 1).
    assert.ok(code === EXIT.failure || code === EXIT.inputUnread, `exit ${code}\n${ship.stderr()}`);
    assert.match(ship.stderr(), new RegExp(`cannot write the kubectl positions ${join(spool, 'kubectl-positions.json')}: is a directory`));
    assert.doesNotMatch(ship.stderr(), /complete: every input read/);
    assertAccounted(jsonSummary(ship.stderr()));
  });
});

describe('--kubernetes-metadata', () => {
  it('needs --kubectl', async () => {
    const res = await runCli(['--kubernetes-metadata', '--port', '1'], { input: '' });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--kubernetes-metadata names the pod a record came from: it needs --kubectl/);
  });
});
