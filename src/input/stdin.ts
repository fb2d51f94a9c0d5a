/** stdin: read as the stream it is, and can be ended while it idles. */
import { byteCounter, readable, sniffedStream } from './decode.js';
import type { InputSource } from './sources.js';

/** stdin, read as a stream. */
export function openStdin(): InputSource {
  return stdinSource();
}

export function stdinSource(stdin: NodeJS.ReadableStream = process.stdin): InputSource {
  let endInput: (() => void) | null = null;
  const source: InputSource = {
    name: '<stdin>',
    path: null,
    size: null,
    bytesRead: 0,
    resume: null,
    exhausted: false,
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
      const whole = readable(source, sniffedStream(source, counter));
      // Reading to the end after close() was our doing: stdin itself had not ended.
      return (async function* () {
        yield* whole;
        if (endedByUs) source.exhausted = false;
      })();
    },
    close() {
      endInput?.();
      endInput = null;
    },
  };
  return source;
}
