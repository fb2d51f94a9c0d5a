/**
 * Following a deployment: what audit-ship and its kubectl processes cost on the node while 20 pods
 * write 200 audit records a second each, served by the fake API server of the tests to the real
 * kubectl. CPU is sampled from /proc once every stream is open (start-up is not the steady cost),
 * audit-ship's peak RSS comes from its summary, and the kubectl processes are sampled from /proc (CPU over the run, proportional set size summed at the end, so shared pages count once). Every record must reach the sink.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeKubeApi } from '../test/helpers/kube-api.js';
import { CLI, THIS_NODE_FIRST } from '../test/helpers/paths.js';
import { describeDeployed, type Deployed } from './deployed.js';
import { sampleLines } from '../src/sample/generate.js';
import { startSink } from './ship.js';
import { tempDir } from '../test/helpers/cli.js';

export interface FollowRow {
  /** How the shipper ran: as deployed, or from a shell (null: the installed command, no NODE_OPTIONS). */
  deployed: Deployed | null;
  pods: number;
  /** Writes a second to each pod's log stream: the records of a pod come in this many pieces. */
  writesPerSecond: number;
  recordsPerSecond: number;
  seconds: number;
  records: number;
  shipCpuPercent: number;
  shipCpuUsPerRecord: number;
  shipPeakRssMb: number;
  kubectlCpuPercent: number;
  kubectlRssMb: number;
  /** audit-ship's CPU (% of a core) in each run of this case, in the order run: the row's figures are the median run's. */
  shipCpuPercentRuns: number[];
}

/** One way of following: how audit-ship runs, and how many writes a second each pod's records come in. */
export interface FollowCase {
  deployed: Deployed | null;
  writesPerSecond: number;
}

/** Writes a second per pod unless told otherwise: a few records a write. */
export const WRITES_PER_SECOND = 20;

/** User and system CPU seconds of a process so far. */
function cpuOf(pid: number | string): { cpu: number; ppid: number; name: string } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = 100; // USER_HZ on Linux
  return {
    cpu: (Number(fields[11]) + Number(fields[12])) / ticks,
    ppid: Number(fields[1]),
    name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
  };
}

/** CPU seconds and RSS of the kubectl processes whose parent is `ppid`. */
function kubectlChildren(ppid: number): { cpu: number; rssMb: number; count: number } {
  let cpu = 0;
  let rss = 0;
  let count = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const proc = cpuOf(pid);
      if (proc.ppid !== ppid || proc.name !== 'kubectl') continue;
      cpu += proc.cpu;
      // PSS, not RSS: the kubectl binary's pages are shared between the processes, and RSS would count them 20 times.
      rss += (Number(/Pss:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024) / 1e6;
      count++;
    } catch {
      // gone in between
    }
  }
  return { cpu, rssMb: rss, count };
}

export async function benchFollow(
  pods = 20,
  perPodPerSecond = 200,
  seconds = 30,
  deployed: Deployed | null = null,
  writesPerSecond = WRITES_PER_SECOND,
): Promise<FollowRow> {
  const api = await new FakeKubeApi().start();
  api.addDeployment('seldon-deploy', { app: 'seldon-deploy' });
  const names = Array.from({ length: pods }, (_, i) => `seldon-deploy-${i}`);
  for (const name of names) api.addPod(name, { app: 'seldon-deploy' });
  const total = pods * perPodPerSecond * seconds;
  const lines = [...sampleLines(total, { seed: 7, start: Math.floor(Date.now() / 1000) })].map((l) => l.trimEnd());
  const sink = await startSink();
  const spool = join(tempDir('audit-ship-bench-'), 'spool');
  const args = ['--kubectl', 'deploy/seldon-deploy', '--port', String(sink.port), '--spool-dir', spool];
  // From a shell, the installed command (its launcher gives node its flags); as deployed, node with the image's.
  const nodeArgs = [
    ...(process.env.FOLLOW_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.FOLLOW_PROF] : []),
    ...(deployed?.nodeArgs ?? []),
  ];
  const asCommand = !deployed && nodeArgs.length === 0;
  const child = spawn(
    asCommand ? CLI : process.execPath,
    [...(asCommand ? [] : [...nodeArgs, CLI]), ...args, '--summary', 'json', '--no-progress', '--kubectl-max-streams', String(pods)],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...api.kubectlEnv(), PATH: THIS_NODE_FIRST, NO_COLOR: '1', NODE_OPTIONS: deployed?.nodeOptions ?? '' },
    },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  while (api.openStreams < pods) {
    // A shipper that dies at start (a bad flag, a broken build) ends the run instead of a wait for ever.
    if (exited) {
      await Promise.all([api.close(), sink.stop()]);
      throw new Error(`follow: audit-ship exited before every stream was open\n${stderr.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Measured from here: every stream open, start-up (about 20 spawns of kubectl) behind.
  const before = kubectlChildren(child.pid!);
  const shipBefore = cpuOf(child.pid!).cpu;
  const started = Date.now();
  let written = 0;
  const perTick = perPodPerSecond / writesPerSecond;
  for (let tick = 0; written < total; tick++) {
    for (const name of names) for (let k = 0; k < perTick && written < total; k++) api.write(name, lines[written++]!);
    const due = started + ((tick + 1) * 1000) / writesPerSecond;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
  }
  await new Promise((resolve) => setTimeout(resolve, 3000)); // the last flush interval and acks
  const after = kubectlChildren(child.pid!);
  const shipCpu = cpuOf(child.pid!).cpu - shipBefore;
  const elapsed = (Date.now() - started) / 1000;
  const closed = new Promise((resolve) => child.on('close', resolve));
  child.kill('SIGTERM');
  await closed;
  await api.close();
  const counted = await sink.stop();
  const summary = JSON.parse(stderr.trim().split('\n').pop()!) as { peakRssBytes: number };
  if (counted.events !== total) throw new Error(`follow: the sink counted ${counted.events} of ${total} records\n${stderr.slice(-2000)}`);
  return {
    deployed,
    pods,
    writesPerSecond,
    recordsPerSecond: pods * perPodPerSecond,
    seconds: elapsed,
    records: total,
    shipCpuPercent: (shipCpu / elapsed) * 100,
    shipCpuUsPerRecord: (shipCpu / total) * 1e6,
    // MB of 10^6 bytes, as every other table of the bench.
    shipPeakRssMb: summary.peakRssBytes / 1e6,
    kubectlCpuPercent: ((after.cpu - before.cpu) / elapsed) * 100,
    kubectlRssMb: after.rssMb,
    shipCpuPercentRuns: [(shipCpu / elapsed) * 100],
  };
}

/**
 * Each case `runs` times, the cases taking turns run after run, so that a busy minute of the shared
 * machine falls on all of them alike. A follow run's figure is a cost, not a best effort, and one
 * run of 30 s moves with the machine's load across the goal: each case gives its median run, with
 * every run's CPU beside it.
 */
export async function benchFollowTurns(
  cases: readonly FollowCase[],
  runs: number,
  pods = 20,
  perPodPerSecond = 200,
  seconds = 30,
): Promise<FollowRow[]> {
  const results: FollowRow[][] = cases.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, c] of cases.entries()) {
      const row = await benchFollow(pods, perPodPerSecond, seconds, c.deployed, c.writesPerSecond);
      process.stderr.write(
        `follow, ${c.deployed ? 'as deployed' : 'from a shell'}, ${c.writesPerSecond} writes/s a pod: ${row.shipCpuPercent.toFixed(2)}% of a core\n`,
      );
      results[k]!.push(row);
    }
  }
  return results.map((rows) => {
    const median = [...rows].sort((a, b) => a.shipCpuPercent - b.shipCpuPercent)[Math.floor((rows.length - 1) / 2)]!;
    return { ...median, shipCpuPercentRuns: rows.map((r) => r.shipCpuPercent) };
  });
}

export function followTable(rows: FollowRow[]): string {
  const lines = [
    '| process | CPU (% of one core), median run | each run | CPU µs/record | memory |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const pace = r.writesPerSecond === r.recordsPerSecond / r.pods ? ', a line a write' : `, ${r.writesPerSecond} writes/s a pod`;
    const how =
      (r.deployed ? `as deployed (${describeDeployed(r.deployed)})` : 'from a shell (the installed command, no NODE_OPTIONS)') + pace;
    lines.push(
      `| audit-ship, ${how} | ${r.shipCpuPercent.toFixed(1)}% | ${r.shipCpuPercentRuns.map((c) => `${c.toFixed(1)}%`).join(', ')} | ${r.shipCpuUsPerRecord.toFixed(1)} | ${r.shipPeakRssMb.toFixed(0)} MB peak RSS |`,
      `| ${r.pods} × kubectl logs -f | ${r.kubectlCpuPercent.toFixed(1)}% | | ${(((r.kubectlCpuPercent / 100) * 1e6) / r.recordsPerSecond).toFixed(1)} | ${r.kubectlRssMb.toFixed(0)} MB together (PSS) |`,
    );
  }
  return lines.join('\n');
}
