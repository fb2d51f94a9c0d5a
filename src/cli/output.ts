/** Writes text to a stream with backpressure: waits for 'drain' instead of buffering without bound. */
import { once } from 'node:events';
import { describeSystemError, OutputError } from '../errors.js';

/** The reader of stdout went away (`audit-ship sample | head`). */
export class BrokenPipeError extends OutputError {
  override readonly code = 'ERR_AUDIT_SHIP_BROKEN_PIPE';
}

/**
 * Writes, and when the stream asks, waits for 'drain' (which rejects if the stream errors instead).
 * `name` says which output failed (`--output report.json`): a full disk said "cannot write output".
 */
export async function writeWithBackpressure(stream: NodeJS.WritableStream, text: string, name = 'stdout'): Promise<void> {
  try {
    if (!stream.write(text)) await once(stream, 'drain');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPIPE')
      throw new BrokenPipeError('stdout was closed before all output was written', { cause: error });
    throw new OutputError(`cannot write ${name}: ${describeSystemError(error)}`, { cause: error });
  }
}

export class TextOutput {
  private buffered: string[] = [];
  private bufferedLength = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    /** Flush once this much text is queued, so that writes are few and large. */
    private readonly flushAt = 64 * 1024,
    /** What a failed write names (see writeWithBackpressure). */
    private readonly name = 'stdout',
  ) {}

  /** Queues text; the returned promise, when there is one, must be awaited before writing more. */
  write(text: string): Promise<void> | undefined {
    this.buffered.push(text);
    this.bufferedLength += text.length;
    return this.bufferedLength >= this.flushAt ? this.flush() : undefined;
  }

  async flush(): Promise<void> {
    if (this.bufferedLength === 0) return;
    const text = this.buffered.join('');
    this.buffered = [];
    this.bufferedLength = 0;
    await writeWithBackpressure(this.stream, text, this.name);
  }
}
