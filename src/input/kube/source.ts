/**
 * `--kubectl "deploy/NAME"`: every pod the workload selects, each container followed by a stream
 * of its own (src/input/kube/container-stream.ts), at most `maxStreams` at once, merged into one
 * input of whole lines. Reading waits when the merged lines are not taken (the spool is full):
 * each kubectl's pipe then fills and kubectl waits, so memory stays bounded. A position moves,
 * and is saved beside the spool, only once the chunk holding its lines is in the spool.
 */
import type { BackoffOptions } from '../../backoff.js';
import { InputError } from '../../errors.js';
import type { InputSource } from '../sources.js';
import { ReadTicker } from './coalesced-read.js';
import { ContainerStream } from './container-stream.js';
import { MissingContainers, noConfigNote, sayIfNoPod } from './pod-notes.js';
import { podSelection } from './pod-selection.js';
import { chooseContainers, watchPods, type PodInfo } from './pod-watch.js';
import { Positions, type StreamPosition } from './positions.js';
import { RecentIds } from './recent-ids.js';
import { parseTarget } from './target.js';
import type { WriteGate } from '../../state-file.js';
import { PodIdentities } from './pod-identity.js';

export interface KubeSourceOptions {
  /** What follows `--kubectl`: a workload, pod or selector, and flags (src/input/kube/target.ts). */
  target: string;
  command: string;
  maxStreams: number;
  /** A follow that hears nothing this long starts again from its position (0: never). */
  silenceMs: number;
  backoff: BackoffOptions;
  recentIds: number;
  maxLineBytes: number;
  /** The spool directory: the positions file lives beside the spool, under its lock. */
  positionsDir: string;
  fsync: boolean;
  /** How long a small read of kubectl's output waits to be taken with others (src/input/kube/coalesced-read.ts). */
  readTickMs: number;
  onMessage: (line: string) => void;
  /** What must be on disk before the positions are (see StateFileWriter.writeAfter). */
  writeAfter?: WriteGate;
}

/** Lines read ahead of the pipeline, across all streams: a bound, not a buffer size. */
const QUEUE_BYTES = 4 * 1024 * 1024;

/** What the metrics show of the streams. */
export interface KubeStatus {
  /** The streams followed or waiting now (ended ones leave). */
  streams(): readonly ContainerStream[];
  /** Restarts of every stream so far, ended ones included. */
  restarts(): number;
  /** Of those, the follows stopped for giving nothing new for --kubectl-silence. */
  quietRestarts(): number;
  ended: number;
  /** A save of the positions waits for disk room now. */
  positionsWaitingForRoom(): boolean;
}

interface Queued {
  stream: ContainerStream;
  lines: Buffer;
  position: StreamPosition | null;
}

interface Marker {
  /** The source's byte offset just past the item's lines. */
  end: number;
  stream: ContainerStream;
  position: StreamPosition | null;
}

export function kubeSource(options: KubeSourceOptions): InputSource {
  const target = parseTarget(options.target);
  // Read once the spool (and so its lock) is open: chunks() is first called after that.
  let positions: Positions | null = null;
  const saved = () => (positions ??= new Positions(options.positionsDir, options.fsync, options.onMessage, options.writeAfter));
  const recent = new RecentIds(options.recentIds);
  const abort = new AbortController();
  const streams = new Map<string, ContainerStream>();
  const identities = new PodIdentities(options.onMessage);
  const waiting: ContainerStream[] = [];
  const running = new Set<Promise<void>>();
  const queue: Queued[] = [];
  const markers: Marker[] = [];
  let queuedBytes = 0;
  let yielded = 0;
  /** The first marker a record being admitted can belong to: records come in the order read. */
  let cursor = 0;
  let wake: (() => void) | null = null;
  let rooms: (() => void)[] = [];
  let failure: Error | null = null;
  let pastRestarts = 0;
  let pastQuietRestarts = 0;
  let seenPod = false;
  const missing = target.container === null ? null : new MissingContainers(target.container, options.onMessage);
  const status: KubeStatus = {
    streams: () => [...streams.values()],
    restarts: () => pastRestarts + [...streams.values()].reduce((n, s) => n + s.restarts, 0),
    quietRestarts: () => pastQuietRestarts + [...streams.values()].reduce((n, s) => n + s.quiet.restarts, 0),
    ended: 0,
    positionsWaitingForRoom: () => positions?.waitingForRoom ?? false,
  };
  const poke = () => {
    wake?.();
    wake = null;
  };
  const fail = (error: Error) => {
    failure ??= error;
    poke();
  };

  async function room(): Promise<void> {
    while (queuedBytes > QUEUE_BYTES) await new Promise<void>((resolve) => rooms.push(resolve));
  }

  const context = {
    command: options.command,
    globalArgs: target.globalArgs,
    backoff: options.backoff,
    signal: abort.signal,
    maxLineBytes: options.maxLineBytes,
    onMessage: options.onMessage,
    ticker: new ReadTicker(options.readTickMs),
    silenceMs: options.silenceMs,
    /** Queues the lines; a promise of room when the queue is over its bytes, null while there is room. */
    push(stream: ContainerStream, lines: Buffer, position: StreamPosition | null): Promise<void> | null {
      queue.push({ stream, lines, position });
      queuedBytes += lines.length;
      poke();
      return queuedBytes > QUEUE_BYTES ? room() : null;
    },
  };

  /** Where a stream starts, for the notes that name it. */
  const from = (stream: ContainerStream) => (stream.position ? ` from ${stream.position.time}` : '');

  function launch(stream: ContainerStream): void {
    const done = stream
      .run()
      .catch(fail)
      .finally(() => {
        running.delete(done);
        if (stream.state === 'ended' && !abort.signal.aborted) {
          status.ended++;
          pastRestarts += stream.restarts;
          pastQuietRestarts += stream.quiet.restarts;
          streams.delete(stream.key);
          if (stream.pod.deleted) saved().forget(stream.key);
          const replacement = identities.ended(stream);
          if (replacement) onPod(replacement);
        }
        const next = waiting.shift();
        if (next && !abort.signal.aborted) {
          options.onMessage(`audit-ship: following ${next.key}${from(next)} (a stream ended)`);
          launch(next);
        }
        poke();
      });
    running.add(done);
  }

  function onPod(pod: PodInfo): void {
    seenPod = true;
    if (pod.deleted) missing?.forget(pod.namespace, pod.name);
    for (const container of pod.containers) {
      const key = `${pod.namespace}/${pod.name}/${container}`;
      const known = streams.get(key);
      if (known) {
        if (!identities.superseded(known, pod)) Object.assign(known.pod, pod);
        continue;
      }
      if (!identities.wanted(key, pod, container)) continue;
      const stream = new ContainerStream({ ...pod }, container, identities.start(key, pod, saved().get(key)), context);
      streams.set(key, stream);
      if (running.size < options.maxStreams) {
        options.onMessage(`audit-ship: following ${key}${from(stream)}`);
        launch(stream);
      } else {
        // Said as it is: "following" here left a user looking for records no kubectl was reading.
        options.onMessage(
          `audit-ship: ${key} waits: the ${options.maxStreams} streams of --kubectl-max-streams are all in use; ` +
            'it is followed when one ends (what its log rotates away before then is not read)',
        );
        waiting.push(stream);
      }
    }
  }

  async function discover(): Promise<void> {
    const selection = await podSelection(target, options.command, options.backoff, abort.signal, options.onMessage);
    if (selection === null) return;
    const listed = sayIfNoPod(options.command, selection, target, abort.signal, () => seenPod, options.onMessage).then(
      (error) => error && fail(new InputError(`--kubectl: ${error}`)),
      () => {}, // kubectl missing is the watch's to report: it fails the source
    );
    await watchPods({
      command: options.command,
      args: selection.args,
      containers: (pod) => {
        const chosen = chooseContainers(pod, target.container, target.allContainers);
        if (chosen.length === 0) missing?.note(pod);
        return chosen;
      },
      backoff: options.backoff,
      signal: abort.signal,
      onPod,
      onMessage: options.onMessage,
    });
    await listed;
  }

  /** The item a line ending at `end` came in: lines are asked about in the order read. */
  function markerAt(end: number): Marker | undefined {
    while (cursor < markers.length - 1 && markers[cursor]!.end < end) cursor++;
    return markers[cursor];
  }

  async function* chunks(): AsyncGenerator<Buffer> {
    saved();
    const unconfigured = noConfigNote(target);
    if (unconfigured) options.onMessage(unconfigured);
    const watching = discover().catch(fail);
    for (;;) {
      const item = queue.shift();
      if (item) {
        queuedBytes -= item.lines.length;
        if (queuedBytes <= QUEUE_BYTES && rooms.length > 0) {
          for (const resolve of rooms) resolve();
          rooms = [];
        }
        yielded += item.lines.length;
        markers.push({ end: yielded, stream: item.stream, position: item.position });
        source.bytesRead = yielded;
        yield item.lines;
        continue;
      }
      if (failure) {
        abort.abort();
        for (const s of streams.values()) s.stop();
        throw failure;
      }
      if (abort.signal.aborted && running.size === 0) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    await watching;
  }

  const source: InputSource = {
    name: `kubectl ${options.target}`,
    path: null,
    size: null,
    bytesRead: 0,
    resume: null,
    exhausted: false,
    live: true,
    kube: status,
    chunks,
    admit(requestId, end) {
      if (!recent.add(requestId)) return false;
      const marker = markerAt(end);
      if (marker) marker.stream.records++;
      return true;
    },
    remember(requestIds) {
      for (const id of requestIds) recent.add(id);
    },
    origin(end) {
      const stream = markerAt(end)?.stream;
      return stream ? { namespace: stream.pod.namespace, pod: stream.pod.name, container: stream.container } : null;
    },
    committed(end) {
      const moved = new Map<string, StreamPosition>();
      while (markers.length > 0 && markers[0]!.end <= end) {
        const m = markers.shift()!;
        cursor = Math.max(0, cursor - 1);
        if (m.position) moved.set(m.stream.key, m.position);
      }
      if (moved.size > 0) saved().save(moved);
    },
    saved(behind) {
      return positions?.saved(behind) ?? Promise.resolve();
    },
    close() {
      abort.abort();
      positions?.stopWaiting();
      for (const s of streams.values()) s.stop();
      poke();
    },
  };
  return source;
}
