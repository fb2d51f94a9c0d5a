/**
 * The soak (not in CI): `node dist/bench/soak.js [records]` ships 10 million records (by default)
 * through `audit-ship receive`, which is restarted every few seconds, and reports what was lost
 * (must be 0), duplicated, and audit-ship's peak RSS. Each record's RequestID carries its sequence
 * number, so a bitmap checks delivery without keeping millions of ids. The result is written to
 * bench/SOAK.md, which `npm run bench` includes in BENCHMARKS.md.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/net.js';
import { CLI, ROOT } from '../test/helpers/paths.js';
import { tempDir } from '../test/helpers/cli.js';
import { numberedRecords, startReceiver, stopReceiver, Tally } from './numbered.js';

const TOTAL = Number(process.argv[2] ?? 10_000_000);
const RESTART_EVERY_MS = 4000;

const tally = new Tally(TOTAL);
let restarts = 0;

const port = await freePort();
let receiver = await startReceiver(port, tally);
const spoolDir = join(tempDir('audit-ship-soak-'), 'spool');
const started = Date.now();
const ship = spawn(process.execPath, [CLI, '--port', String(port), '--spool-dir', spoolDir, '--summary', 'json', '--no-progress'], {
  stdio: ['pipe', 'ignore', 'pipe'],
});
let shipErr = '';
ship.stderr!.on('data', (c: Buffer) => (shipErr += c.toString()).length > 1e6 && (shipErr = shipErr.slice(-100_000)));
const shipExit = once(ship, 'exit');

let restarting = true;
const restartLoop = (async () => {
  while (restarting) {
    await new Promise((resolve) => setTimeout(resolve, RESTART_EVERY_MS));
    if (!restarting) break;
    await stopReceiver(receiver);
    receiver = await startReceiver(port, tally);
    restarts++;
    process.stderr.write(`soak: receiver restarted ${restarts} times, ${tally.received.toLocaleString('en')} records received\n`);
  }
})();

let batch: string[] = [];
for (const line of numberedRecords(TOTAL)) {
  batch.push(line);
  if (batch.length === 500) {
    if (!ship.stdin!.write(batch.join(''))) await once(ship.stdin!, 'drain');
    batch = [];
  }
}
ship.stdin!.end(batch.join(''));
const [code] = (await shipExit) as [number];
restarting = false;
await restartLoop;
await stopReceiver(receiver);

const seconds = (Date.now() - started) / 1000;
const lost = tally.lost();
const summary = JSON.parse(shipErr.trim().split('\n').pop() ?? '{}') as { peakRssBytes?: number; resends?: number; recordsAcked?: number };
const report = [
  '## Soak',
  '',
  `\`node dist/bench/soak.js ${TOTAL}\` on ${new Date().toISOString().slice(0, 10)} (${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ` +
    `${(totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}): ${TOTAL.toLocaleString('en')} records from stdin through ` +
    `\`audit-ship receive\`, restarted every ${RESTART_EVERY_MS / 1000} s (SIGTERM).`,
  '',
  '| records | receiver restarts | lost | duplicates | chunks resent | exit code | peak RSS | time | records/s |',
  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  `| ${TOTAL.toLocaleString('en')} | ${restarts} | ${lost} | ${tally.duplicates.toLocaleString('en')} | ${summary.resends ?? '?'} | ${code} | ` +
    `${((summary.peakRssBytes ?? 0) / 1e6).toFixed(0)} MB | ${seconds.toFixed(0)} s | ${Math.round(TOTAL / seconds).toLocaleString('en')} |`,
  '',
].join('\n');
process.stdout.write(`${report}\n`);
writeFileSync(join(ROOT, 'bench', 'SOAK.md'), report);
process.exitCode = lost === 0 && code === 0 && tally.received - tally.duplicates === TOTAL ? 0 : 1;
