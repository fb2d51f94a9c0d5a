/**
 * The chaos run (not in CI): `node dist/bench/chaos.js [records] [files] [seed]` backfills a
 * directory of plain and `.gz` logs with `--checkpoint`, as a cron job does, while at random
 * moments the shipper is SIGKILLed or stopped (SIGTERM), the receiver crashes (SIGKILL) or is
 * restarted, or both die at once. Each stopped run is followed by the same command, until one
 * ends on its own; then every record must have arrived. Reports what was lost (must be 0),
 * duplicated, each run's exit status, and writes bench/CHAOS.md, which `npm run bench` includes
 * in BENCHMARKS.md. The soak checks one fault at length; this one checks the faults together.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { prng } from '../src/sample/generate.js';
import { freePort } from '../test/helpers/net.js';
import { CLI, ROOT } from '../test/helpers/paths.js';
import { tempDir } from '../test/helpers/cli.js';
import { numberedRecords, startReceiver, stopReceiver, Tally } from './numbered.js';

const TOTAL = Number(process.argv[2] ?? 1_000_000);
const FILES = Number(process.argv[3] ?? 40);
const SEED = Number(process.argv[4] ?? 1);
/** Runs with faults before the runs are left alone to finish. */
const FAULTY_RUNS = 25;
/** A tight spool, small chunks and two readers, so that the spool fills and chunks overlap. */
const OPTIONS = ['--spool-max-bytes', '4m', '--chunk-bytes', '256k', '--window', '4', '--workers', '2'];

// The same faults at the same moments for the same seed.
const next = prng(SEED);
const between = (low: number, high: number) => low + next() * (high - low);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Odd files gzipped: the checkpoint resumes a `.gz` by its decompressed offset. */
function writeLogs(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const records = numberedRecords(TOTAL);
  for (let f = 0; f < FILES; f++) {
    const count = Math.floor((TOTAL * (f + 1)) / FILES) - Math.floor((TOTAL * f) / FILES);
    const lines: string[] = [];
    for (let i = 0; i < count; i++) lines.push(records.next().value as string);
    const name = join(dir, `audit-${String(f).padStart(3, '0')}.jsonl`);
    if (f % 2 === 1) writeFileSync(`${name}.gz`, gzipSync(lines.join('')));
    else writeFileSync(name, lines.join(''));
  }
}

const tally = new Tally(TOTAL);
const work = tempDir('audit-ship-chaos-');
const logs = join(work, 'logs');
writeLogs(logs);
const port = await freePort();
let receiver = await startReceiver(port, tally);
const args = [CLI, '--port', String(port), '--spool-dir', join(work, 'spool'), '--checkpoint', join(work, 'checkpoint.json')];
const command = [...args, ...OPTIONS, '--retry-timeout', '0', '--no-progress', '--summary', 'json', logs];

const faults = { shipperKilled: 0, shipperStopped: 0, receiverKilled: 0, receiverRestarted: 0 };
const outcomes: string[] = [];
let unexpected = '';
let last: { exitCode?: number; recordsRead?: number } = {};

async function restartReceiver(signal: NodeJS.Signals): Promise<void> {
  await stopReceiver(receiver, signal);
  if (signal === 'SIGKILL') faults.receiverKilled++;
  else faults.receiverRestarted++;
  await sleep(between(0, 1500));
  receiver = await startReceiver(port, tally);
}

/** One fault at a random moment: the receiver's leaves the run going, the shipper's ends it. */
async function fault(ship: ChildProcess): Promise<boolean> {
  const pick = next();
  if (pick < 0.25) {
    ship.kill('SIGKILL');
    faults.shipperKilled++;
  } else if (pick < 0.4) {
    ship.kill('SIGTERM');
    faults.shipperStopped++;
  } else if (pick < 0.85) {
    await restartReceiver(next() < 0.5 ? 'SIGKILL' : 'SIGTERM');
    return false;
  } else {
    ship.kill('SIGKILL');
    faults.shipperKilled++;
    await restartReceiver('SIGKILL');
  }
  return true;
}

const started = Date.now();
for (let run = 0; ; run++) {
  const ship = spawn(process.execPath, command, { stdio: ['ignore', 'ignore', 'pipe'] });
  let said = '';
  ship.stderr!.on('data', (c: Buffer) => (said = (said + c.toString()).slice(-20_000)));
  const exit = once(ship, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let ended = false;
  void exit.then(() => (ended = true));
  let stopped = false;
  while (run < FAULTY_RUNS && !ended && !stopped) {
    await Promise.race([exit, sleep(between(200, 2500))]);
    if (!ended) stopped = await fault(ship);
  }
  const [code, signal] = await exit;
  outcomes.push(signal ?? String(code));
  // A stop signal leaves an input unread (4) or records unacked (3), or, when it comes once every
  // input is read, waits for the acks, and 0 says they all came; a run left to end must end clean.
  const expected = stopped ? [4, 3, 0] : [0];
  if (signal !== 'SIGKILL' && !expected.includes(code ?? -1)) unexpected += `run ${run}: exit ${code}\n${said}\n`;
  process.stderr.write(`chaos: run ${run} ${signal ?? `exit ${code}`}, ${tally.received.toLocaleString('en')} received\n`);
  if (!stopped) {
    last = JSON.parse(said.trim().split('\n').pop() ?? '{}') as typeof last;
    break;
  }
}
await stopReceiver(receiver);
const seconds = (Date.now() - started) / 1000;
rmSync(work, { recursive: true, force: true });

const lost = tally.lost();
const report = [
  '## Chaos',
  '',
  `\`node dist/bench/chaos.js ${TOTAL} ${FILES} ${SEED}\` on ${new Date().toISOString().slice(0, 10)} (${cpus().length} × ` +
    `${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}): ` +
    `${TOTAL.toLocaleString('en')} records in ${FILES} files (every other one \`.gz\`) backfilled with \`--checkpoint\` ` +
    `and \`${OPTIONS.join(' ')}\` into \`audit-ship receive\`; in each of the first ${FAULTY_RUNS} runs, at random ` +
    'moments, the receiver was killed (SIGKILL) or restarted (SIGTERM) until the shipper was killed (SIGKILL) or ' +
    'stopped (SIGTERM), alone or with the receiver; the same command was then run again, and the last run left to end.',
  '',
  '| records | runs | shipper SIGKILLed | shipper stopped | receiver SIGKILLed | receiver restarted | lost | duplicates | last exit code | time |',
  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  `| ${TOTAL.toLocaleString('en')} | ${outcomes.length} | ${faults.shipperKilled} | ${faults.shipperStopped} | ` +
    `${faults.receiverKilled} | ${faults.receiverRestarted} | ${lost} | ${tally.duplicates.toLocaleString('en')} | ` +
    `${last.exitCode ?? '?'} | ${seconds.toFixed(0)} s |`,
  '',
  `Each run's exit: ${outcomes.join(', ')}.`,
  '',
].join('\n');
process.stdout.write(`${report}\n`);
if (unexpected) process.stderr.write(`chaos: runs that ended otherwise than expected:\n${unexpected}`);
writeFileSync(join(ROOT, 'bench', 'CHAOS.md'), report);
process.exitCode = lost === 0 && last.exitCode === 0 && !unexpected ? 0 : 1;
