/**
 * `npm run demo`: the main job on an embedded default. Generates sample audit logs, starts
 * `audit-ship receive` on a free loopback port, ships the records through it with metrics on,
 * shows the metrics while the shipper runs, then its summary and what arrived. Every part runs as
 * a real process, exactly as a user would run it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sampleLines, DEFAULT_SAMPLE_SEED, DEFAULT_SAMPLE_START } from '../src/sample/generate.js';

const RECORDS = 2000;
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'bin', 'audit-ship.js');
const work = mkdtempSync(join(tmpdir(), 'audit-ship-demo-'));
const out = join(work, 'received.jsonl');

/** Resolves with the first match of `pattern` in the child's stderr, which is echoed. */
function watchStderr(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      process.stderr.write(chunk);
      const m = pattern.exec(text);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${child.spawnargs.slice(2).join(' ')} exited with ${code}`)));
  });
}

const received = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : []);

const receiver = spawn(process.execPath, [cli, 'receive', '--port', '0', '--out', out], { stdio: ['ignore', 'inherit', 'pipe'] });
const port = await watchStderr(receiver, /listening on [^\s]+:(\d+)/);

const args = ['--port', port, '--spool-dir', join(work, 'spool'), '--metrics-port', '0', '--flush-interval', '200ms'];
process.stderr.write(`\n$ audit-ship sample --count ${RECORDS} | audit-ship ${args.join(' ')}\n`);
const shipper = spawn(process.execPath, [cli, ...args], { stdio: ['pipe', 'inherit', 'pipe'] });
const metricsUrl = await watchStderr(shipper, /metrics on (\S+)/);
for (const line of sampleLines(RECORDS, { seed: DEFAULT_SAMPLE_SEED, start: DEFAULT_SAMPLE_START })) shipper.stdin!.write(line);
shipper.stdin!.write('an application log line, counted and skipped\n');

while (received().length < RECORDS) await new Promise((resolve) => setTimeout(resolve, 50));
const metrics = await (await fetch(metricsUrl)).text();
process.stderr.write(`\n$ curl ${metricsUrl}  (audit-ship's own metrics, while it runs)\n`);
process.stderr.write(
  `${metrics
    .split('\n')
    .filter((l) => /^(audit_ship_(lines|records)|deploy_audit)/.test(l))
    .join('\n')}\n\n`,
);

shipper.stdin!.end();
const code = await new Promise<number | null>((resolve) => shipper.once('exit', resolve));
receiver.kill('SIGTERM');
await new Promise((resolve) => receiver.once('exit', resolve));

const events = received();
process.stderr.write(`\nreceived ${events.length} of ${RECORDS} records; the first one as the receiver wrote it:\n`);
process.stdout.write(`${events[0] ?? '(none)'}\n`);
if (code === 0 && events.length === RECORDS) rmSync(work, { recursive: true, force: true });
else {
  process.stderr.write(`the spool and what arrived are kept in ${work}\n`);
  process.exitCode = 1;
}
