/**
 * A named pipe among the inputs (`mkfifo`, a writer such as `kubectl logs -f > pipe`): opened when
 * its turn comes, which waits for a writer, then read as stdin's pipe is, through a socket
 * (src/input/stdin-socket.ts). Read as a file stream, both waits sat in threads of libuv's pool,
 * where nothing can end them: with no writer yet, or a writer that had nothing to say, a stop
 * signal printed the run's outcome and the process went on, holding the spool's lock, until the
 * writer spoke or left. close() ends either wait: what was read is still delivered, and the pipe is
 * left as not read to its end.
 */
import { closeSync, constants, open, openSync } from 'node:fs';
import { readable, sniffedStream } from './decode.js';
import type { InputSource } from './sources.js';
import { SocketStdin } from './stdin-socket.js';

/**
 * Lets an open that waits for a writer return, by opening the write end without waiting (the
 * pipe then reads as ended); ENXIO says no open was waiting.
 */
function releaseOpen(path: string): void {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // no reader waits on it, or it is gone: nothing held
  }
}

function openForReading(path: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'r', (error, fd) => (error ? reject(error) : resolve(fd))));
}

/** Gives `source` (a named pipe at `path`) its chunks and its close. */
export function readAsNamedPipe(source: InputSource, path: string): void {
  let closed = false;
  let opening = false;
  let reader: SocketStdin | null = null;
  async function* raw(): AsyncGenerator<Buffer> {
    if (closed) return;
    opening = true;
    const fd = await openForReading(path).finally(() => (opening = false));
    if (closed) {
      // Its open was let go by close(): nothing of the pipe was read.
      closeSync(fd);
      return;
    }
    reader = new SocketStdin(fd, source);
    yield* reader.chunks();
  }
  // Inside readable(), a failure to open names the input, as a file's does. The end is the pipe's
  // own unless close() came first.
  source.chunks = () => readable(source, sniffedStream(source, raw(), false), () => !closed || (reader !== null && !reader.closedByUs));
  source.close = () => {
    if (closed) return;
    closed = true;
    if (reader) reader.close();
    else if (opening) releaseOpen(path);
  };
}
