/** Writes text to a stream with backpressure: waits for 'drain' instead of buffering without bound. */
import { once } from 'node:events';

export class TextOutput {
  private buffered: string[] = [];
  private bufferedLength = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    /** Flush once this much text is queued, so that writes are few and large. */
    private readonly flushAt = 64 * 1024,
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
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }
}
