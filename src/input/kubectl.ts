/**
 * `--kubectl "ARGS"`: runs `kubectl logs -f ARGS` and keeps it running. kubectl exits whenever
 * the pod restarts, the log rotates or the kubelet drops an idle stream; each time it is started
 * again, with backoff, and with `--since-time` set to the Timestamp of the last record read, so
 * nothing written in between is missed. The restart overlaps what was already read, so repeats are
 * recognised by RequestID (among the most recent ones) and counted as duplicates, not shipped twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import split2 from 'split2';
import { Backoff, sleep, type BackoffOptions } from '../backoff.js';
import { InputError } from '../errors.js';
import type { InputSource } from './sources.js';

export interface KubectlOptions {
  /** What follows `kubectl logs -f`, split like a shell would (quotes, no expansion). */
  args: string;
  /** The kubectl executable (default: `kubectl` on PATH). */
  command: string;
  backoff: BackoffOptions;
  /** RequestIDs remembered to recognise the overlap after a restart. */
  recentIds: number;
  /** kubectl's own messages and our restart notes, a line each. */
  onMessage: (line: string) => void;
}

export const DEFAULT_KUBECTL_RECENT_IDS = 20_000;

/** Splits an argument string on blanks, honouring single and double quotes and backslashes. */
export function splitArgs(text: string): string[] {
  const args: string[] = [];
  let current = '';
  let quote: '"' | "'" | null = null;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      current += text[++i];
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) args.push(current);
      current = '';
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (quote) throw new InputError(`--kubectl: unclosed ${quote} in ${JSON.stringify(text)}`);
  if (started) args.push(current);
  return args;
}

/** The most recent RequestIDs, in a ring: memory stays fixed however long the tail runs. */
class RecentIds {
  private readonly ring: (string | undefined)[];
  private readonly set = new Set<string>();
  private next = 0;

  constructor(capacity: number) {
    this.ring = new Array(capacity);
  }

  /** False when the id is among the recent ones; otherwise remembers it. */
  add(id: string): boolean {
    if (this.set.has(id)) return false;
    const evicted = this.ring[this.next];
    if (evicted !== undefined) this.set.delete(evicted);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.ring.length;
    this.set.add(id);
    return true;
  }
}

export function kubectlSource(options: KubectlOptions): InputSource {
  const baseArgs = ['logs', '-f', ...splitArgs(options.args)];
  const recent = new RecentIds(options.recentIds);
  const abort = new AbortController();
  let lastTimestamp: string | null = null;
  let child: ChildProcess | null = null;

  async function* run(): AsyncGenerator<Buffer> {
    const backoff = new Backoff(options.backoff);
    while (!abort.signal.aborted) {
      const argv = lastTimestamp ? [...baseArgs, `--since-time=${lastTimestamp}`] : baseArgs;
      const proc = spawn(options.command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      const exited = new Promise<string>((resolve) => {
        proc.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ENOENT' ? 'ENOENT' : error.message));
        proc.once('close', (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`));
      });
      proc.stderr!.pipe(split2()).on('data', (line: string) => options.onMessage(`kubectl: ${line}`));
      let sawData = false;
      let lastByte = 0x0a;
      for await (const chunk of proc.stdout! as AsyncIterable<Buffer>) {
        sawData = true;
        lastByte = chunk[chunk.length - 1]!;
        source.bytesRead += chunk.length;
        yield chunk;
      }
      // A line cut off by kubectl's exit must not run into the next run's first line.
      if (lastByte !== 0x0a) yield Buffer.from('\n');
      const outcome = await exited;
      child = null;
      if (outcome === 'ENOENT') throw new InputError(`--kubectl: ${options.command} was not found on PATH`);
      if (abort.signal.aborted) break;
      if (sawData) backoff.reset();
      const delay = backoff.next();
      options.onMessage(
        `audit-ship: kubectl ${outcome}; restarting in ${(delay / 1000).toFixed(1)} s` +
          (lastTimestamp ? ` from --since-time=${lastTimestamp}` : ''),
      );
      await sleep(delay, abort.signal);
    }
  }

  const source: InputSource = {
    name: `kubectl logs -f ${options.args}`,
    path: null,
    size: null,
    bytesRead: 0,
    resume: null,
    exhausted: false,
    live: true,
    chunks: run,
    admit(requestId, timestamp) {
      if (!recent.add(requestId)) return false;
      lastTimestamp = timestamp;
      return true;
    },
    close() {
      abort.abort();
      child?.kill('SIGTERM');
    },
  };
  return source;
}
