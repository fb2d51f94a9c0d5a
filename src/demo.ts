/**
 * `npm run demo`: the main job on an embedded default. Starts `audit-ship receive` on a free
 * loopback port, ships the bundled sample through it with `audit-ship`, and shows what arrived.
 * Both run as real processes, exactly as a user would run them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'bin', 'audit-ship.js');
const sample = join(root, 'samples', 'audit-sample.jsonl');
const out = join(mkdtempSync(join(tmpdir(), 'audit-ship-demo-')), 'received.jsonl');

const receiver = spawn(process.execPath, [cli, 'receive', '--port', '0', '--out', out], { stdio: ['ignore', 'inherit', 'pipe'] });
const port = await new Promise<number>((resolve, reject) => {
  let text = '';
  receiver.stderr.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    process.stderr.write(chunk);
    const m = /listening on [^\s]+:(\d+)/.exec(text);
    if (m) resolve(Number(m[1]));
  });
  receiver.once('exit', (code) => reject(new Error(`audit-ship receive exited with ${code}`)));
});

process.stderr.write(`\n$ audit-ship --port ${port} samples/audit-sample.jsonl\n`);
const shipper = spawn(process.execPath, [cli, '--port', String(port), sample], { stdio: ['ignore', 'inherit', 'inherit'] });
const code = await new Promise<number | null>((resolve) => shipper.once('exit', resolve));
receiver.kill('SIGTERM');
await new Promise((resolve) => receiver.once('exit', resolve));

const received = readFileSync(out, 'utf8').split('\n').filter(Boolean);
const sent = readFileSync(sample, 'utf8').split('\n').filter(Boolean).length;
process.stderr.write(`\nreceived ${received.length} of ${sent} records; the first one as the receiver wrote it:\n`);
process.stdout.write(`${received[0] ?? '(none)'}\n`);
process.exitCode = code === 0 && received.length === sent ? 0 : 1;
