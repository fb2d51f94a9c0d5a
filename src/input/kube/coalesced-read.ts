/**
 * Reading kubectl's stdout in few, large reads. kubectl writes what the API server sends as it
 * comes, often a line at a time, and each write woke audit-ship for a read of its own: following
 * 20 pods at 200 records a second, a line a write, cost 10 to 12% of a core, nearly half of it in
 * the kernel (waking up, switching threads) and much of the rest in the stream machinery around
 * each read. Here a small read stops the reading until the next tick of a timer shared by every
 * stream (a quarter of --flush-interval, at most 250 ms): kubectl's writes gather in the kernel's
 * buffer meanwhile and come out in one read. After a large read the next follows at once, so a
 * stream that is busy (a backlog, a burst) is read as fast as before.
 */
import { getDefaultHighWaterMark, setDefaultHighWaterMark, type Readable } from 'node:stream';

/**
 * The longest tick, whatever --flush-interval is. kubectl's stdout is a socket pair whose buffers
 * hold a few hundred KB: a tick this long fills them only for a pod that writes faster than about
 * 1 MB a second, and such a pod is read at once anyway (PROMPT_BYTES).
 */
export const MAX_READ_TICK_MS = 250;
/**
 * A read this large is followed by the next at once: the stream is busy (a backlog, a burst), and
 * waiting would only slow it. kubectl writes what it copies from the API server, up to 32 KB a
 * write; a pod's own lines come a few at a time.
 */
export const PROMPT_BYTES = 16 * 1024;
/**
 * As much as one read of the socket returns (libuv reads into 64 KB). The first read after a tick's
 * wait holds what gathered meanwhile, so it is large whenever the stream is not idle: only a full
 * one says that more is waiting.
 */
export const FULL_READ_BYTES = 64 * 1024;

/** One timer for every stream of a source: a tick takes the reads of all of them at once. */
export class ReadTicker {
  private due: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly ms: number) {}

  /** Calls `fn` at the next tick. */
  after(fn: () => void): void {
    this.due.push(fn);
    this.timer ??= setTimeout(() => this.tick(), this.ms);
  }

  /** Calls what is due now; the timer does this, and a test may. */
  tick(): void {
    if (this.timer) clearTimeout(this.timer);
    const due = this.due;
    this.due = [];
    this.timer = null;
    for (const fn of due) fn();
  }
}

/**
 * The tick for a --flush-interval: a quarter of it, at most MAX_READ_TICK_MS. A line read then
 * waits for Fluentd at most a quarter longer than it did; a test's 50 ms interval reads every 12 ms.
 */
export function readTickFor(flushIntervalMs: number): number {
  return Math.max(1, Math.min(MAX_READ_TICK_MS, Math.floor(flushIntervalMs / 4)));
}

/**
 * Runs `start` (which must create its streams synchronously, as spawn() does its pipes) with a
 * readable high-water mark of 0: a paused stream then reads nothing ahead. A paused stream reads
 * on up to its high-water mark (16 KB by default), and what it read waited for the next tick:
 * long enough for V8 to move the buffers out of its young generation, where they piled up until a
 * full collection. A version that held one read a stream until the tick reached 84 MB of RSS in a
 * minute of following 20 pods, against 69 MB.
 */
export function withoutReadAhead<T>(start: () => T): T {
  const previous = getDefaultHighWaterMark(false);
  setDefaultHighWaterMark(false, 0);
  try {
    return start();
  } finally {
    setDefaultHighWaterMark(false, previous);
  }
}

/**
 * The libuv handle under a child's stdout, as net.Socket keeps it. Stopping it is the only way to
 * leave data in the kernel: pause() stops the 'data' events, not the reads. net.Socket does the same
 * itself (a socket whose reader falls behind; `pause()` of one with `onread`), and starts reading
 * again, from `_read()`, when the stream is resumed and `reading` is false. A stream without such
 * a handle is read without coalescing.
 */
interface PipeHandle {
  reading: boolean;
  readStop(): number;
}

function pipeHandleOf(stream: Readable): PipeHandle | null {
  const handle = (stream as Readable & { _handle?: Partial<PipeHandle> | null })._handle;
  return handle && typeof handle.readStop === 'function' && typeof handle.reading === 'boolean' ? (handle as PipeHandle) : null;
}

/**
 * Reads a stream (made under withoutReadAhead) to its end, each read handed to `take` as it lands.
 * After a small read, the pipe is not read again until the ticker's next tick; after a large one
 * (PROMPT_BYTES, or FULL_READ_BYTES for the first read after a tick), at once. `take` returns null
 * while its consumer has room, else a promise of room; the stream is paused until then, so the
 * pipe fills and the writer waits.
 */
export function readCoalesced(stream: Readable, take: (chunk: Buffer) => Promise<void> | null, ticker: ReadTicker): Promise<void> {
  return new Promise((resolve, reject) => {
    const handle = pipeHandleOf(stream);
    // Reasons to stay paused: no room downstream, a tick not yet come.
    let holds = 0;
    let ticked = false;
    const hold = () => {
      if (holds++ === 0) stream.pause();
    };
    const release = () => {
      if (--holds === 0) stream.resume();
    };
    const fail = (error: unknown) => {
      stream.destroy();
      reject(error as Error);
    };
    stream.on('data', (chunk: Buffer) => {
      let room: Promise<void> | null;
      try {
        room = take(chunk);
      } catch (error) {
        fail(error);
        return;
      }
      if (room !== null) {
        hold();
        room.then(release, fail);
      }
      const large = chunk.length >= (ticked ? FULL_READ_BYTES : PROMPT_BYTES);
      ticked = false;
      if (handle !== null && !large) {
        hold();
        if (handle.reading) {
          handle.reading = false;
          handle.readStop();
        }
        ticker.after(() => {
          ticked = true;
          release();
        });
      }
    });
    stream.once('end', resolve);
    // A pipe closed without its end (destroyed): nothing more will come.
    stream.once('close', resolve);
    stream.once('error', reject);
  });
}
