/**
 * `--kubectl deploy/NAME` with the real kubectl against a fake API server (test/helpers/kube-api.ts):
 * every scenario a deployment goes through in production, each on a ledger of RequestIDs, with
 * records among application lines and stack traces. Every one: nothing missed, and no duplicate
 * outside the SIGKILL case.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../../helpers/cli.js';
import { FakeKubeApi } from '../../helpers/kube-api.js';
import { feed, kubectlMissing } from '../../helpers/kube-feed.js';
import { idOf, Ledger, metricSamples } from '../../helpers/ledger.js';
import { receivers, type RunningReceiver } from '../../helpers/receive-cli.js';
import { jsonSummary, scrapeUntil, startMeteredShip, startShip, waitFor, type ShipChild } from '../../helpers/ship-cli.js';
import { freePort } from '../../helpers/net.js';
import { sampleLines } from '../../../src/sample/generate.js';
import { UNSAVED_CHUNKS } from '../../../src/ship/spool-writer.js';
import { EXIT } from '../../../src/cli/exit.js';

const receiver = receivers();
const LABELS = { app: 'seldon-deploy' };

interface Scene {
  api: FakeKubeApi;
  r: RunningReceiver;
  env: NodeJS.ProcessEnv;
  /** Starts audit-ship, and waits until it follows `streams` containers. */
  ship: (extra?: string[], streams?: number) => Promise<ShipChild>;
}

async function scene(pods: string[], spoolDir = join(tempDir(), 'spool')): Promise<Scene> {
  const api = await new FakeKubeApi().start();
  api.addDeployment('seldon-deploy', LABELS);
  for (const pod of pods) api.addPod(pod, LABELS);
  const r = await receiver();
  const env = { ...api.kubectlEnv(), AUDIT_SHIP_SPOOL_DIR: spoolDir };
  const args = ['--kubectl', 'deploy/seldon-deploy', '--port', String(r.port), '--flush-interval', '50ms', '--summary', 'json'];
  return {
    api,
    r,
    env,
    ship: async (extra = [], streams = pods.length) => {
      const ship = startShip([...args, ...extra], env);
      await waitFor(() => api.openStreams >= streams, `${streams} log streams open`);
      return ship;
    },
  };
}

/**
 * Two pods write the ledger, `perTick` lines every 5 ms, and both streams are cut at every eighth
 * of the records, whatever the machine's speed: the writing holds until both streams are back from
 * the last cut (a slow kubectl would otherwise see fewer cuts) and goes on while they come back; a
 * stream is cut in the next line it sends.
 */
async function writeCutting(s: Scene, ledger: Ledger, perTick: number): Promise<void> {
  const every = Math.floor(ledger.lines.length / 8);
  let holding = false;
  const writing = feed(s.api, ledger.lines, () => ['sd-a', 'sd-b'], { everyMs: 5, perTick, paused: () => holding });
  for (let next = every; next < ledger.lines.length - 50; next += every) {
    await waitFor(() => writing.written() >= next, `${next} records written`);
    holding = true;
    await waitFor(() => s.api.openStreams >= 2, 'both streams back');
    holding = false;
    const cuts = s.api.cuts;
    s.api.cutStreams();
    await waitFor(() => s.api.cuts >= cuts + 2, 'both streams cut');
  }
  await writing.done;
}

/** Waits for every ledger record at the receiver, stops audit-ship, and checks the outcome. */
async function finish(s: Scene, ship: ShipChild, ledger: Ledger): Promise<ReturnType<typeof jsonSummary>> {
  await waitFor(() => ledger.missing(s.r.requestIds()).length === 0, `all ${ledger.ids.length} records at the receiver`).catch(
    (error: Error) => {
      throw new Error(`${error.message}: ${ledger.missing(s.r.requestIds()).length} missing\n${ship.stderr()}`);
    },
  );
  const code = await ship.exit('SIGTERM');
  await s.api.close();
  assert.equal(code, 0, ship.stderr());
  // A live tail has no end: the outcome says what stopped it and how it goes on, not that it read to an end.
  assert.match(
    ship.stderr(),
    /audit-ship: complete: following stopped by SIGTERM, the next run with this spool resumes each stream where it stopped, every valid record acked\n/,
  );
  assert.equal(ledger.assertComplete(s.r.requestIds()), 0, 'no record arrived twice');
  return jsonSummary(ship.stderr());
}

const missing = kubectlMissing();

describe('audit-ship --kubectl, with the real kubectl', { skip: missing ?? false }, () => {
  it('follows two replicas writing at once (kubectl alone would pick one of them)', async () => {
    const s = await scene(['sd-a', 'sd-b']);
    const ledger = new Ledger(600, 140);
    const ship = await s.ship();
    await feed(s.api, ledger.lines, () => ['sd-a', 'sd-b']).done;
    const summary = await finish(s, ship, ledger);
    assert.equal(summary.duplicates, 0);
    assert.ok(summary.skipped >= 200, 'the application lines were read and skipped');
    const logs = s.api.requests.filter((q) => q.includes('/log?'));
    assert.ok(logs.some((q) => q.includes('/pods/sd-a/log')) && logs.some((q) => q.includes('/pods/sd-b/log')));
    assert.ok(
      logs.every((q) => q.includes('timestamps=true') && !q.includes('tailLines')),
      'kubelet timestamps, never a tail',
    );
  });

  it('follows a rollout: the new pod from its start, the old one to its end', async () => {
    const s = await scene(['sd-a']);
    const ledger = new Ledger(900, 141);
    const ship = await s.ship();
    let up = ['sd-a'];
    await feed(s.api, ledger.lines, () => up, {
      before: (i) => {
        if (i === 300) {
          s.api.addPod('sd-b', LABELS);
          up = ['sd-a', 'sd-b'];
        }
        if (i === 600) {
          s.api.deletePod('sd-a');
          up = ['sd-b'];
        }
      },
    }).done;
    const summary = await finish(s, ship, ledger);
    assert.equal(summary.duplicates, 0);
    assert.match(ship.stderr(), /following default\/sd-b\/main/);
  });

  // A StatefulSet's rollout deletes a pod and makes its replacement under the same name.
  it('follows a pod made again under its name: the old one to its end, the new one from its start', async () => {
    const s = await scene(['sd-0']);
    const ledger = new Ledger(900, 142);
    const ship = await s.ship();
    await feed(s.api, ledger.lines.slice(0, 300), () => ['sd-0']).done;
    s.api.deletePod('sd-0');
    // The replacement comes once the old pod is gone, as a StatefulSet makes it: a moment later, on
    // a node whose clock is a minute behind. Its lines are older by the kubelet's times than the
    // last one read of the pod it replaces: a position kept by name would pass over them all.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    s.api.addPod('sd-0', LABELS, ['main'], { clockOffsetMs: -60_000 });
    await feed(s.api, ledger.lines.slice(300), () => ['sd-0']).done;
    const summary = await finish(s, ship, ledger);
    assert.equal(summary.duplicates, 0);
    // Said as a new pod when it comes while the old one's stream is still known. When the old pod's
    // deletion has ended its stream first (the watch's event late, on a loaded machine), its
    // position goes with it and the new pod is followed as any new one, from its first line.
    const afterEnd = ship.stderr().split('kubectl logs ended').slice(1).join('');
    assert.ok(
      ship.stderr().includes('default/sd-0/main is a new pod under the name of the one followed before: read from its first line') ||
        /^audit-ship: following default\/sd-0\/main$/m.test(afterEnd),
      ship.stderr(),
    );
  });

  it("after a restart, reads a pod made again under its name from its first line, whatever its node's clock says", async () => {
    const spool = join(tempDir(), 'spool');
    const s = await scene(['sd-0'], spool);
    const ledger = new Ledger(600, 143);
    const first = await s.ship();
    await feed(s.api, ledger.lines.slice(0, 300), () => ['sd-0']).done;
    await waitFor(() => ledger.missing(s.r.requestIds()).length === 300, 'the first 300 records at the receiver');
    assert.equal(await first.exit('SIGTERM'), 0, first.stderr());
    // Replaced while audit-ship was away, on a node a minute behind.
    s.api.deletePod('sd-0');
    s.api.addPod('sd-0', LABELS, ['main'], { clockOffsetMs: -60_000 });
    for (const line of ledger.lines.slice(300)) s.api.write('sd-0', line.trimEnd());
    const second = await s.ship();
    const summary = await finish(s, second, ledger);
    assert.equal(summary.duplicates, 0);
    assert.match(second.stderr(), /default\/sd-0\/main is a new pod under the name of the one followed before: read from its first line/);
  });

  // With the API server away, the watch missed the deletion; a stream that came back first went
  // on into the new pod from the old position, and followed it for as long as it ran.
  it("a pod made again under its name while the API server was away: the old stream gives way to one from the new pod's start", async () => {
    const s = await scene(['sd-0']);
    const ledger = new Ledger(600, 144);
    const ship = await s.ship();
    await feed(s.api, ledger.lines.slice(0, 300), () => ['sd-0']).done;
    await waitFor(() => ledger.missing(s.r.requestIds()).length === 300, 'the first 300 records at the receiver');
    await s.api.unreachable();
    s.api.deletePod('sd-0');
    s.api.addPod('sd-0', LABELS, ['main'], { clockOffsetMs: -60_000 });
    // The log stream comes back before the watch does, and into the new pod.
    s.api.podListDelayMs = 3000;
    await s.api.reachable();
    await waitFor(() => s.api.openStreams === 1, 'the stream back, into the new pod');
    s.api.podListDelayMs = 0;
    await feed(s.api, ledger.lines.slice(300), () => ['sd-0']).done;
    const summary = await finish(s, ship, ledger);
    assert.equal(summary.duplicates, 0);
  });

  it('reads a restarted container, and the tail of an instance that crashed while kubectl was away', async () => {
    const s = await scene(['sd-a']);
    const ledger = new Ledger(600, 142);
    const ship = await s.ship();
    await feed(s.api, ledger.lines, () => ['sd-a'], {
      before: (i) => {
        if (i === 200) s.api.restart('sd-a');
        if (i === 400) {
          // The stream ends at the next line; the lines after it are written, and the container
          // crashes, before kubectl runs again: only --previous has them.
          s.api.cutStreams();
          for (let k = 0; k < 20; k++) s.api.write('sd-a', ledger.lines[i + k]!.trimEnd());
          s.api.restart('sd-a');
          return 20;
        }
      },
    }).done;
    const summary = await finish(s, ship, ledger);
    assert.equal(summary.duplicates, 0);
    assert.match(ship.stderr(), /default\/sd-a\/main: read \d+ lines? of its previous instance/);
    assert.ok(s.api.requests.some((q) => q.includes('previous=true')));
  });

  it('resumes a stream cut mid-line again and again from the last whole line, and reports no line invalid', async () => {
    const s = await scene(['sd-a', 'sd-b']);
    const ledger = new Ledger(800, 143);
    const ship = await s.ship();
    await writeCutting(s, ledger, 1);
    const summary = await finish(s, ship, ledger);
    assert.equal(summary.invalid, 0, 'a cut line is read again whole, not reported');
    assert.equal(summary.duplicates, 0);
    const resumed = s.api.requests.filter((q) => q.includes('follow=true') && q.includes('sinceTime='));
    assert.ok(s.api.cuts >= 6, `${s.api.cuts} streams cut`);
    // The last cut of each pod may come after its last record, before the stop.
    assert.ok(resumed.length >= s.api.cuts - 2, `each cut resumed with sinceTime (${resumed.length} of ${s.api.cuts})`);
  });

  it('resumes between lines that share one kubelet time, skipping exactly those it read', async () => {
    const s = await scene(['sd-a', 'sd-b']);
    // Five lines in a row share a time, so most cuts fall inside a run of equal times.
    s.api.linesPerStamp = 5;
    const ledger = new Ledger(600, 147);
    const ship = await s.ship();
    await writeCutting(s, ledger, 2);
    const summary = await finish(s, ship, ledger);
    // Lines read again would be dropped by RequestID and counted here; lines skipped in error are missing above.
    assert.equal(summary.duplicates, 0, 'no line at a shared time was read twice');
    assert.ok(s.api.cuts >= 6, `${s.api.cuts} streams cut`);
  });

  it('resumes from kubelet time, whatever the records say their Timestamp is (minutes behind or ahead)', async () => {
    const s = await scene(['sd-a']);
    const now = Math.floor(Date.now() / 1000);
    const behind = [...sampleLines(200, { seed: 144, start: now - 600 })]; // minutes behind the log time
    const ahead = [...sampleLines(200, { seed: 145, start: now + 600 })]; // and minutes ahead, in lower case
    const lower = ahead.map((l) => l.replace(/"Timestamp":"([^"]+)"/, (_m, t: string) => `"Timestamp":"${t.toLowerCase()}"`));
    const ledger = new Ledger(0, 0);
    ledger.lines.push(...behind, ...lower);
    ledger.ids.push(...[...behind, ...lower].map(idOf));
    const ship = await s.ship();
    await feed(s.api, ledger.lines, () => ['sd-a'], {
      before: (i) => {
        if (i % 100 === 50) s.api.cutStreams();
      },
    }).done;
    const summary = await finish(s, ship, ledger);
    assert.equal(summary.duplicates, 0);
    assert.equal(summary.invalid, 0);
  });

  it('resumes every pod where it stopped after a SIGKILL, repeating at most the chunks in flight', async (t) => {
    const spool = join(tempDir(), 'spool');
    const s = await scene(['sd-a', 'sd-b'], spool);
    const ledger = new Ledger(900, 146);
    let ship = await s.ship(['--chunk-records', '20']);
    const writing = feed(s.api, ledger.lines, () => ['sd-a', 'sd-b'], { everyMs: 10 });
    await waitFor(() => s.r.requestIds().length >= 300, '300 records before the kill');
    ship.child.kill('SIGKILL');
    await ship.exit();
    const positions = JSON.parse(readFileSync(join(spool, 'kubectl-positions.json'), 'utf8')) as { streams: object };
    assert.deepEqual(Object.keys(positions.streams).sort(), ['default/sd-a/main', 'default/sd-b/main']);
    ship = await s.ship(['--chunk-records', '20']);
    await writing.done;
    await waitFor(() => ledger.missing(s.r.requestIds()).length === 0, 'every record after the restart');
    assert.equal(await ship.exit('SIGTERM'), 0, ship.stderr());
    await s.api.close();
    const dups = ledger.assertComplete(s.r.requestIds());
    // At the kill: chunks sent but not yet acked (--window 8), the one written but not yet in the
    // positions, and those whose positions were not yet saved (UNSAVED_CHUNKS).
    assert.ok(dups <= 20 * (9 + UNSAVED_CHUNKS), `${dups} duplicates, no more than the chunks in flight or not yet saved`);
    t.diagnostic(`${dups} records arrived twice after the SIGKILL`);
    assert.match(ship.stderr(), /following default\/sd-a\/main from 20\d\d-/);
  });

  it('drops what it reads again after a crash while the spool still holds it, by RequestID', async () => {
    const spool = join(tempDir(), 'spool');
    const s = await scene(['sd-a'], spool);
    const ledger = new Ledger(300, 148);
    for (const line of ledger.lines) s.api.write('sd-a', line.trimEnd());
    // Fluentd away: everything stays in the spool.
    const first = await startMeteredShip(['--kubectl', 'deploy/seldon-deploy', '--port', String(await freePort())], s.env);
    await scrapeUntil(first, (m) => m.get('audit_ship_spool_records') === 300, 'all 300 records in the spool');
    first.child.kill('SIGKILL');
    await first.exit();
    // A crash between a chunk's write and the save of its position leaves the position behind the
    // spool; with the positions gone (or never saved: saves run off the main thread), all of it is behind.
    rmSync(join(spool, 'kubectl-positions.json'), { force: true });
    const ship = await startMeteredShip(['--kubectl', 'deploy/seldon-deploy', '--port', String(s.r.port)], s.env);
    await scrapeUntil(ship, (m) => m.get('audit_ship_lines_read_total') === 300, 'the log read again');
    const summary = await finish(s, ship, ledger);
    assert.equal(summary.duplicates, 300, 'every line read again was recognised');
  });

  it('gives up on an unreachable Fluentd with exit 4, not complete, and the next run with the spool delivers it all', async () => {
    const spool = join(tempDir(), 'spool');
    const s = await scene(['sd-a'], spool);
    const ledger = new Ledger(200, 149);
    for (const line of ledger.lines) s.api.write('sd-a', line.trimEnd());
    const args = ['--kubectl', 'deploy/seldon-deploy', '--port', String(await freePort()), '--retry-timeout', '2s'];
    const first = startShip(args, s.env);
    assert.equal(await first.exit(), EXIT.inputUnread, first.stderr());
    assert.match(
      first.stderr(),
      /audit-ship: gave up: nothing could be delivered for 2 s \(--retry-timeout\); the last try: cannot connect to 127\.0\.0\.1:\d+: connect ECONNREFUSED [\d.:]+\n/,
    );
    assert.match(
      first.stderr(),
      /exit 4: input not fully read: kubectl deploy\/seldon-deploy: stopped: nothing could be delivered for 2 s \(--retry-timeout\); the next run with this spool resumes each stream where it stopped\n/,
    );
    assert.doesNotMatch(first.stderr(), /complete:/);
    const ship = await s.ship();
    await finish(s, ship, ledger);
  });

  it('waits out an unreachable API server, unready meanwhile, and reads what the pods wrote in between', async () => {
    const s = await scene(['sd-a', 'sd-b']);
    const ledger = new Ledger(600, 147);
    const ship = await s.ship(['--metrics-port', '0']);
    const url = /metrics on (http:\/\/\S+)\/metrics/.exec(ship.stderr())![1]!;
    const writing = feed(s.api, ledger.lines, () => ['sd-a', 'sd-b'], { everyMs: 10, perTick: 2 });
    await waitFor(() => writing.written() >= 200, '200 records written');
    // The positions file beside the spool is one of the files whose writes may wait for disk room.
    const waits = metricSamples(await (await fetch(`${url}/metrics`)).text());
    assert.equal(waits.get('audit_ship_disk_full{file="kubectl_positions"}'), 0);
    assert.equal(waits.get('audit_ship_disk_full{file="spool"}'), 0);
    await s.api.unreachable();
    let ready = 0;
    await waitFor(() => (void fetch(`${url}/readyz`).then((r) => (ready = r.status)), ready === 503), '/readyz failing');
    await writing.done; // written while the API server was away
    await s.api.reachable();
    const summary = await finish(s, ship, ledger);
    assert.equal(summary.duplicates, 0);
    assert.match(ship.stderr(), /kubectl logs ended .*again in/);
  });
});

describe('audit-ship --kubectl, what it refuses', () => {
  let api: FakeKubeApi;
  before(async () => (api = await new FakeKubeApi().start()));
  after(() => api.close());

  it('names a workload that does not exist, and exits', { skip: missing ?? false }, async () => {
    const s = startShip(['--kubectl', 'deploy/nope', '--port', '1'], api.kubectlEnv());
    assert.equal(await s.exit(), 2);
    assert.match(s.stderr(), /--kubectl: .*deployments\.apps "nope" not found/);
  });

  // A selector or a pod name retried these for ever, where a workload's lookup stopped the run.
  it('stops on a kubectl configuration that is wrong, whatever it follows', { skip: missing ?? false }, async () => {
    const gone = join(tempDir(), 'gone', 'config');
    for (const [target, said] of [
      ['-l app=seldon-deploy --context nope', /--kubectl: Error in configuration: context was not found for specified context: nope/],
      ['pod/sd-a --context nope', /--kubectl: Error in configuration: context was not found/],
      [`-l app=seldon-deploy --kubeconfig ${gone}`, /--kubectl: error: stat .*gone\/config: no such file or directory/],
      [`deploy/seldon-deploy --kubeconfig ${gone}`, /--kubectl: error: stat .*gone\/config: no such file or directory/],
    ] as const) {
      const s = startShip(['--kubectl', target, '--port', '1'], api.kubectlEnv());
      // Bounded: a run that would retry for ever fails here, not at the runner's timeout.
      await waitFor(() => s.child.exitCode !== null, `${target}: the run to stop`);
      assert.equal(s.child.exitCode, 2, `${target}: ${s.stderr()}`);
      assert.match(s.stderr(), said);
    }
  });

  // kubectl with nothing to read tries localhost:8080, and says only that the connection was refused.
  it('says when kubectl will find no configuration at all', { skip: missing ?? false }, async () => {
    const home = tempDir();
    for (const [env, said] of [
      [{ KUBECONFIG: join(home, 'missing') }, `KUBECONFIG names no file that exists (${join(home, 'missing')})`],
      [{ KUBECONFIG: '', HOME: home }, `there is no ${join(home, '.kube', 'config')} and KUBECONFIG is not set`],
    ] as const) {
      const s = startShip(['--kubectl', 'deploy/seldon-deploy', '--port', '1', '--spool-dir', join(tempDir(), 'spool')], {
        ...env,
        KUBERNETES_SERVICE_HOST: '',
      });
      const note = `audit-ship: kubectl has no configuration: ${said}, so it tries a server at localhost:8080; give --kubectl "… --kubeconfig FILE", or set KUBECONFIG`;
      await waitFor(() => s.stderr().includes(note), note);
      assert.equal(await s.exit('SIGTERM'), 0, s.stderr());
    }
    // With one, nothing is said.
    const s = startShip(['--kubectl', 'deploy/nope', '--port', '1'], api.kubectlEnv());
    assert.equal(await s.exit(), 2);
    assert.doesNotMatch(s.stderr(), /has no configuration/);
  });

  // kubectl waited on the API server, and the stop waited on kubectl: SIGTERM never ended the run.
  it('stops at SIGTERM while the API server takes requests and answers none', { skip: missing ?? false }, async (t) => {
    const hung = await new FakeKubeApi().start();
    t.after(() => hung.close());
    hung.silent = true;
    for (const target of ['deploy/seldon-deploy', '-l app=seldon-deploy']) {
      const asked = hung.requests.length;
      const s = startShip(['--kubectl', target, '--port', '1', '--spool-dir', join(tempDir(), 'spool')], hung.kubectlEnv());
      await waitFor(() => hung.requests.length > asked, `${target}: kubectl to ask`);
      s.child.kill('SIGTERM');
      // Bounded: a stop that waits on kubectl fails here, not at the runner's timeout.
      await waitFor(() => s.child.exitCode !== null, `${target}: the run to stop`);
      assert.equal(s.child.exitCode, 0, `${target}: ${s.stderr()}`);
      assert.match(s.stderr(), /complete: following stopped by SIGTERM/);
    }
  });

  // A --kubectl-command wrapper that fails without a word was quoted as "kubectl get deployment/x: ;",
  // and one that answered with text that is not JSON ended the run as an internal error (exit 1).
  it('says how a --kubectl-command ended that said nothing, and stops on one whose answer is not JSON', async () => {
    const dir = tempDir();
    const script = (name: string, body: string) => {
      writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
      return join(dir, name);
    };
    const silent = startShip(['--kubectl', 'deploy/seldon-deploy', '--kubectl-command', script('silent', 'exit 3'), '--port', '1']);
    const note = 'audit-ship: kubectl get deployment/seldon-deploy: exit code 3, saying nothing; again in';
    await waitFor(() => silent.stderr().includes(note), note);
    assert.equal(await silent.exit('SIGTERM'), 0, silent.stderr());

    for (const [body, said] of [
      ['echo "Welcome to the cluster gateway"', '"Welcome to the cluster gateway"'],
      ['true', 'nothing'],
      ['echo null', '"null"'],
    ] as const) {
      const wrapper = script('wrapper', body);
      const s = startShip(['--kubectl', 'deploy/seldon-deploy', '--kubectl-command', wrapper, '--port', '1']);
      assert.equal(await s.exit(), EXIT.usage, s.stderr());
      assert.ok(
        s
          .stderr()
          .includes(
            `--kubectl: ${wrapper} get deployment/seldon-deploy -o json answered with ${said}, not a JSON object: is ${wrapper} kubectl? (--kubectl-command) (ERR_AUDIT_SHIP_INPUT)`,
          ),
        s.stderr(),
      );
    }
  });

  it('takes no kubectl logs flags of its own choosing', async () => {
    const s = startShip(['--kubectl', 'deploy/x --tail=10', '--port', '1']);
    assert.equal(await s.exit(), 2);
    assert.match(s.stderr(), /--kubectl: --tail=10 is not taken \(audit-ship runs kubectl itself\)/);
  });
});
