/**
 * What the soak and the chaos run share: records numbered in their RequestID, and an `audit-ship
 * receive` whose every event is ticked off in a bitmap, so that millions of deliveries are checked
 * (lost, twice) without keeping an id.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { sampleLines } from '../src/sample/generate.js';
import { CLI } from '../test/helpers/paths.js';

const ID_PREFIX = '00000000-0000-4000-8000-';

/** Sample records whose RequestID is `00000000-0000-4000-8000-<12 hex digits of seq>`, seq from `from`. */
export function* numberedRecords(total: number, from = 0): Generator<string> {
  const templates = [...sampleLines(1000, { seed: 2024, start: 1632312000 })].map((line) => {
    const id = (JSON.parse(line) as { RequestID: string }).RequestID;
    const at = line.indexOf(id);
    return [line.slice(0, at), line.slice(at + id.length)] as const;
  });
  for (let seq = from; seq < from + total; seq++) {
    const [head, tail] = templates[seq % templates.length]!;
    yield `${head}${ID_PREFIX}${seq.toString(16).padStart(12, '0')}${tail}`;
  }
}

/** The deliveries of `total` numbered records, over any number of receivers one after another. */
export class Tally {
  readonly seen: Uint8Array;
  received = 0;
  duplicates = 0;

  constructor(readonly total: number) {
    this.seen = new Uint8Array(total);
  }

  tick(line: string): void {
    const at = line.indexOf(ID_PREFIX) + ID_PREFIX.length;
    const seq = parseInt(line.slice(at, at + 12), 16);
    this.received++;
    if (this.seen[seq]) this.duplicates++;
    this.seen[seq] = 1;
  }

  lost(): number {
    let lost = 0;
    for (let i = 0; i < this.total; i++) if (!this.seen[i]) lost++;
    return lost;
  }
}

/** An `audit-ship receive` on `port` whose events go to `tally`; resolves once it listens. */
export function startReceiver(port: number, tally: Tally): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'receive', '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  createInterface({ input: child.stdout! }).on('line', (line) => tally.tick(line));
  let said = '';
  return new Promise((resolve, reject) => {
    const exited = (code: number | null) => reject(new Error(`receive exited ${code}: ${said}`));
    child.stderr!.on('data', (c: Buffer) => {
      said += c.toString();
      if (!/listening on/.test(said)) return;
      child.off('exit', exited);
      resolve(child);
    });
    child.once('exit', exited);
  });
}

/**
 * Stops a receiver with `signal` and waits until every line it wrote has been read. SIGTERM lets
 * it finish what it acked; SIGKILL is a crash: what it acked was written before the ack, so it
 * counts, and what it had not acked the shipper must send again.
 */
export async function stopReceiver(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const closed = once(child.stdout!, 'close');
  child.kill(signal);
  await closed;
}
