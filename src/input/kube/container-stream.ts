/**
 * One pod container, followed to its end: `kubectl logs -f --timestamps` from the position of the
 * last line read, restarted with backoff of its own whenever it exits. Before each restart the
 * tail of the container's previous instance (`--previous`) is read from that position, so lines
 * written by an instance that crashed while kubectl was away are read too. Only whole lines are
 * passed on: a line cut by kubectl's exit is read again, whole, by the next run.
 */
import type { ChildProcess } from 'node:child_process';
import { Backoff, sleep, type BackoffOptions } from '../../backoff.js';
import { readCoalesced, withoutReadAhead, type ReadTicker } from './coalesced-read.js';
import { InputError } from '../../errors.js';
import { exited, isDenied, isPermanent, notInstalled, startKubectl } from './kubectl-run.js';
import { compareTimes, lineTimeInto, TIME_BYTES, type StreamPosition } from './positions.js';
import type { PodInfo } from './pod-watch.js';
import { count } from '../../plural.js';
import { QuietRuns, SilenceWatch } from './silence.js';

export type StreamState = 'waiting' | 'following' | 'backing-off' | 'ended';

export interface StreamContext {
  command: string;
  globalArgs: string[];
  backoff: BackoffOptions;
  signal: AbortSignal;
  /** Longest line passed on whole; a longer one is cut there (the pipeline reports it). */
  maxLineBytes: number;
  /** Hands whole lines on, with the position after the last of them; null while there is room for more, else a promise of it. */
  push: (stream: ContainerStream, lines: Buffer, position: StreamPosition | null) => Promise<void> | null;
  onMessage: (line: string) => void;
  /** Takes the small reads of every stream at once (src/input/kube/coalesced-read.ts). */
  ticker: ReadTicker;
  /** A follow that hears nothing this long starts again from its position (0: never; src/input/kube/silence.ts). */
  silenceMs: number;
}

/** How long a superseded stream's kubectl run may go on before it is stopped (see supersede()). */
const SUPERSEDED_GRACE_MS = 2000;
/** A run that lasted this long was healthy, whether or not it read anything: the next restart is quick. */
const HEALTHY_RUN_MS = 10_000;
const NEWLINE = 0x0a;

interface RunEnd {
  code: number | null;
  error: string;
  read: number;
  /** Ended by audit-ship, for hearing nothing for `silentFor` ms. */
  silentFor: number | null;
}

/** Where a run starts reading: lines up to this time (`at` of them at it) were read before. */
interface Skip {
  time: Buffer;
  at: number;
  seen: number;
}

export class ContainerStream {
  state: StreamState = 'waiting';
  restarts = 0;
  linesRead = 0;
  records = 0;
  private child: ChildProcess | null = null;
  /** Its follows stopped for giving nothing new, and the next one's wait (src/input/kube/silence.ts). */
  readonly quiet: QuietRuns;
  /** A cut line seen at the end of a run: if the next run ends with the same one, it is whole. */
  private lastCut: Buffer | null = null;
  /**
   * The position of the last line read (not yet necessarily spooled): its time as bytes, and how
   * many lines at that time were read. Bytes, not a string and an object per line: the time of
   * every line read is compared with it, and only a few positions a second are asked for.
   */
  private time = Buffer.alloc(TIME_BYTES);
  private at = 0;
  /** Where the time of the line being read is written, then swapped with `time` when it moves. */
  private next = Buffer.alloc(TIME_BYTES);

  constructor(
    readonly pod: PodInfo,
    readonly container: string,
    position: StreamPosition | null,
    private readonly context: StreamContext,
  ) {
    this.quiet = new QuietRuns(context.silenceMs);
    if (position) {
      this.time.write(position.time, 0, TIME_BYTES, 'latin1');
      this.at = position.at;
    }
  }

  /** The position of the last line read (not yet necessarily spooled); null before any. */
  get position(): StreamPosition | null {
    if (this.at === 0) return null;
    const time = this.time.toString('latin1', 0, TIME_BYTES);
    return this.pod.uid ? { time, at: this.at, uid: this.pod.uid } : { time, at: this.at };
  }

  /**
   * A new pod took this one's name (a StatefulSet makes a pod again under its name once the old
   * one is gone): `pod/NAME` names the new pod now, so this stream ends with the kubectl run under
   * way and starts none, as for a deleted pod, and the new pod is followed by a stream of its own,
   * from its first line. Read on from this stream's position, the new pod's lines before it by its
   * node's clock were passed over.
   */
  supersede(): void {
    this.pod.deleted = true;
    // A run started before the watch said so may be following the new pod already, and would never
    // end: stopped once the old pod's last lines, if it is still reading them, have had time to land.
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) setTimeout(() => child.kill('SIGTERM'), SUPERSEDED_GRACE_MS).unref();
  }

  /** The kubelet time of the last line this run read, in ms (for the lag): worked out when scraped, not per line. */
  get lastReadMs(): number | null {
    return this.linesRead > 0 && this.at > 0 ? Date.parse(this.time.toString('latin1', 0, 23) + 'Z') : null;
  }

  /** The container runs no more: its pod has finished (Succeeded, Failed), or it is a Completed init container. */
  get ranToEnd(): boolean {
    return this.pod.terminal || this.pod.completed.has(this.container);
  }

  get key(): string {
    return `${this.pod.namespace}/${this.pod.name}/${this.container}`;
  }

  /** Follows the container until its pod is gone or has ended and is read, or the source closes. */
  async run(): Promise<void> {
    const { signal } = this.context;
    const backoff = new Backoff(this.context.backoff);
    // A deleted pod's logs are gone, and pod/NAME may name its successor already (a StatefulSet's):
    // no run starts for it, whether the watch said so or a successor superseded it.
    while (!signal.aborted && !this.pod.deleted) {
      const instances = this.pod.restarts.get(this.container) ?? 0;
      if ((this.position !== null || instances > 0) && this.quiet.needsPrevious(instances)) {
        const previous = await this.read(['--previous']);
        if (previous.read > 0)
          this.context.onMessage(`audit-ship: ${this.key}: read ${count(previous.read, 'line')} of its previous instance`);
      }
      if (signal.aborted || this.pod.deleted) break;
      this.state = 'following';
      const started = performance.now();
      const end = await this.read(['-f']);
      if (signal.aborted) break;
      // No right to read logs (a Role without pods/log) holds for every pod: the stream used to end
      // there, never tried again, and the run went on following nothing. Stopping lets a restart
      // (a pod's, by Kubernetes) try again once the right is given.
      if (isDenied(end.error)) throw new InputError(`--kubectl: ${this.key}: ${end.error}`);
      if (isPermanent(end.error) || this.pod.deleted || (this.ranToEnd && end.code === 0)) {
        this.state = 'ended';
        return;
      }
      if (end.read > 0 || performance.now() - started >= HEALTHY_RUN_MS) backoff.reset();
      const delay = backoff.next();
      this.state = 'backing-off';
      this.restarts++;
      const why = this.quiet.ended(end.silentFor, end.read, instances) ?? `kubectl logs ended (${end.error || `code ${end.code}`})`;
      this.context.onMessage(
        `audit-ship: ${this.key}: ${why}; again in ${(delay / 1000).toFixed(1)} s` + (this.position ? ` from ${this.position.time}` : ''),
      );
      await sleep(delay, signal);
    }
    this.state = 'ended';
  }

  /** Stops the kubectl run in progress (the source is closing). */
  stop(): void {
    this.child?.kill('SIGTERM');
  }

  private args(extra: string[]): string[] {
    const { pod, container, position } = this;
    const since = position ? [`--since-time=${position.time}`] : [];
    return ['logs', ...extra, '--timestamps', `pod/${pod.name}`, '-c', container, ...since, ...this.context.globalArgs];
  }

  /** One kubectl run: passes on each whole line after the position; returns how it ended. */
  private async read(extra: string[]): Promise<RunEnd> {
    let error = '';
    const child = withoutReadAhead(() =>
      startKubectl(this.context.command, this.args(extra), (line) => {
        error = line || error;
        if (extra[0] === '-f') this.context.onMessage(`kubectl logs ${this.key}: ${line}`);
      }),
    );
    this.child = child;
    const ended = exited(child);
    const waitMs = this.quiet.waitMs;
    const silence = extra[0] === '-f' && waitMs > 0 ? new SilenceWatch(waitMs, () => child.kill('SIGTERM')) : null;
    const skip: Skip | null = this.at > 0 ? { time: Buffer.from(this.time), at: this.at, seen: 0 } : null;
    let read = 0;
    // The line being read, in pieces of the chunks it spans (kubectl's chunks are never reused).
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let over = false;
    const take = (chunk: Buffer): Promise<void> | null => {
      silence?.heard();
      // What is passed on: runs of whole lines read as they stand in the chunk (no copy), and
      // lines joined from pieces.
      const parts: Buffer[] = [];
      let run = -1;
      let start = 0;
      for (let nl = chunk.indexOf(NEWLINE); ; nl = chunk.indexOf(NEWLINE, start)) {
        const stop = nl < 0 ? chunk.length : nl + 1;
        if (over) {
          over = nl < 0;
        } else if (nl >= 0 && pendingBytes === 0) {
          // The common case: a whole line in this chunk.
          if (this.accept(chunk, start, stop, skip)) {
            read++;
            if (run < 0) run = start;
          } else if (run >= 0) {
            parts.push(chunk.subarray(run, start));
            run = -1;
          }
        } else if (stop > start) {
          const piece = chunk.subarray(start, stop);
          pending.push(piece);
          pendingBytes += piece.length;
          // A whole line; or one over the pipeline's limit, cut there: the pipeline reports it as
          // over-long, and nothing more of it is held.
          if (nl >= 0 || pendingBytes > this.context.maxLineBytes) {
            if (nl < 0) pending.push(Buffer.from('\n'));
            const line = Buffer.concat(pending);
            if (this.accept(line, 0, line.length, skip)) {
              if (run >= 0) parts.push(chunk.subarray(run, start));
              run = -1;
              parts.push(line);
              read++;
            }
            pending = [];
            pendingBytes = 0;
            over = nl < 0;
          }
        }
        if (nl < 0) break;
        start = stop;
      }
      if (run >= 0) parts.push(chunk.subarray(run, start));
      if (parts.length === 0) return null;
      const room = this.context.push(this, parts.length === 1 ? parts[0]! : Buffer.concat(parts), this.position);
      return room && silence ? silence.held(room) : room;
    };
    try {
      await readCoalesced(child.stdout!, take, this.context.ticker);
    } finally {
      silence?.stop();
    }
    const end = await ended;
    this.child = null;
    if (end.enoent) throw notInstalled(this.context.command);
    read += await this.endOfRun(pendingBytes > 0 ? Buffer.concat(pending) : null, skip);
    return { code: end.code, error, read, silentFor: silence?.silenced ? waitMs : null };
  }

  /**
   * A run that ended mid-line: the line is read again by the next run, from the position. Only
   * when the next run ends with the very same piece (a last line that never gets its newline) is
   * it passed on as it is.
   */
  private async endOfRun(carry: Buffer | null, skip: Skip | null): Promise<number> {
    if (carry === null) return 0;
    if (this.lastCut === null || !this.lastCut.equals(carry)) {
      this.lastCut = carry;
      return 0;
    }
    this.lastCut = null;
    if (!this.accept(carry, 0, carry.length, skip)) return 0;
    await this.context.push(this, Buffer.concat([carry, Buffer.from('\n')]), this.position);
    return 1;
  }

  /** Whether the line at `start` of `buf` is new (after the position); if so, the position moves past it. */
  private accept(buf: Buffer, start: number, end: number, skip: Skip | null): boolean {
    const time = this.next;
    if (!lineTimeInto(buf, start, end, time)) {
      // Not a --timestamps line (no kubelet writes one): passed on; the position stays where it was.
      this.linesRead++;
      return true;
    }
    if (skip) {
      const order = compareTimes(time, skip.time);
      if (order < 0) return false;
      if (order === 0 && skip.seen < skip.at) {
        skip.seen++;
        return false;
      }
    }
    if (this.at > 0 && compareTimes(time, this.time) === 0) {
      this.at++;
    } else {
      this.next = this.time;
      this.time = time;
      this.at = 1;
    }
    this.linesRead++;
    return true;
  }
}
