/**
 * stdin, in the forms it takes. Redirected from a regular file (`audit-ship < audit.log`), it is
 * read as a file is: in large reads into reused memory, from wherever the file's offset stands.
 * Read as a stream, such a file came in 64 KiB pieces of fresh memory, and shipped a quarter slower
 * than the same file named on the command line. A pipe or a socket (`zcat … | audit-ship`) is read
 * into reused memory too (src/input/stdin-socket.ts). Anything else (a terminal) is read as the
 * stream it is. Both of the last two can be ended while they idle.
 */
import { fstatSync, read } from 'node:fs';
import { InputError } from '../errors.js';
import { byteCounter, readable, readInTurns, sniffedStream } from './decode.js';
import { refuseCut } from './file-io.js';
import type { InputSource } from './sources.js';
import { SocketStdin } from './stdin-socket.js';

/** stdin as a file when it is one, through its socket when it is a pipe or a socket, otherwise as a stream. */
export function openStdin(fd = 0): InputSource {
  let kind: 'file' | 'pipe' | 'directory' | 'other' = 'other';
  try {
    const info = fstatSync(fd);
    kind = info.isFile() ? 'file' : info.isFIFO() || info.isSocket() ? 'pipe' : info.isDirectory() ? 'directory' : 'other';
  } catch {
    // A closed or odd stdin: the stream reports what is wrong with it when it is read.
  }
  // Read as a stream, a directory ends at once with nothing in it: a run "complete", exit 0.
  if (kind === 'directory')
    throw new InputError('stdin is a directory (`< DIR`): name the directory as an input instead, and the logs under it are read');
  if (kind === 'file') return stdinFileSource(fd);
  return kind === 'pipe' ? stdinPipeSource(fd) : stdinSource();
}

/** One read at the file's own offset (`position` null), as `cat` would read it. */
function readAt(fd: number, into: Buffer): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, into, 0, into.length, null, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))),
  );
}

/** What stdin is before it is read: no path, no size, nothing read. */
function unreadStdin(): Omit<InputSource, 'chunks'> {
  return { name: '<stdin>', path: null, size: null, bytesRead: 0, resume: null, exhausted: false };
}

/** stdin's chunks, decoded; an end that close() caused leaves the input marked as not read to its end. */
async function* decodedStdin(
  source: InputSource,
  raw: AsyncIterable<Buffer>,
  endedByUs: () => boolean,
  device = false,
): AsyncGenerator<Buffer> {
  yield* readable(source, sniffedStream(source, raw, device), () => !endedByUs());
}

/**
 * stdin redirected from a regular file, read in turns into two buffers. close() ends it after the
 * reads under way: it cannot be read again.
 */
export function stdinFileSource(fd: number): InputSource {
  let stopped = false;
  const sizeAtOpen = fstatSync(fd).size;
  // Where the file's offset stood when the run began is not known (`(head -5; audit-ship) < FILE`),
  // so a cut is judged against its size then.
  const read = async (into: Buffer) => {
    const bytesRead = await readAt(fd, into);
    if (bytesRead < into.length) refuseCut(fd, '<stdin>', null, sizeAtOpen);
    return bytesRead;
  };
  const source: InputSource = {
    ...unreadStdin(),
    chunks: () =>
      decodedStdin(
        source,
        readInTurns(source, read, () => stopped),
        () => stopped,
      ),
    close() {
      stopped = true;
    },
  };
  return source;
}

/** stdin as a pipe or a socket. close() ends it after a read already made, which still goes on. */
export function stdinPipeSource(fd: number): InputSource {
  let reader: SocketStdin | null = null;
  const source: InputSource = {
    ...unreadStdin(),
    chunks() {
      const opened = new SocketStdin(fd, source);
      reader = opened;
      return decodedStdin(source, opened.chunks(), () => opened.closedByUs);
    },
    close() {
      reader?.close();
    },
  };
  return source;
}

export function stdinSource(stdin: NodeJS.ReadableStream = process.stdin): InputSource {
  let endInput: (() => void) | null = null;
  const source: InputSource = {
    ...unreadStdin(),
    chunks() {
      const counter = byteCounter(source);
      let endedByUs = false;
      stdin.on('error', (error) => counter.destroy(error));
      stdin.pipe(counter);
      // Ending, not destroying: what is already buffered still reaches the consumer.
      endInput = () => {
        endedByUs = true;
        stdin.unpipe(counter);
        // What stdin holds was taken from the pipe already and cannot be read again: it goes on too.
        for (let rest = stdin.read(); rest !== null; rest = stdin.read()) counter.write(rest);
        counter.end();
        (stdin as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      };
      // Reading to the end after close() was our doing: stdin itself had not ended.
      // A terminal or a device (`< /dev/zero`): never a file a crash zeroed.
      return decodedStdin(source, counter, () => endedByUs, true);
    },
    close() {
      endInput?.();
      endInput = null;
    },
  };
  return source;
}
