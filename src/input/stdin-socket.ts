/**
 * stdin as a pipe or a socket (`zcat audit.log.gz | audit-ship`), and a named pipe among the inputs
 * once open (src/input/named-pipe.ts), read into two buffers in turn
 * through the socket's `onread`, as a file is. As a stream, every read of a pipe came in a fresh
 * 64 KiB buffer and passed through a byte-counting transform and a stream iterator: the same
 * 200,000 records cost about 0.6 µs more CPU each than from the file. Here the socket reads
 * straight into the buffer that the consumer is done with.
 *
 * One read runs ahead of the consumer, so the writer on the other end of the pipe refills it while
 * the consumer works; then reading stops until the consumer takes that chunk (the pipe's own
 * buffer is the backpressure).
 */
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';
import { READ_CHUNK_BYTES } from './decode.js';
import type { InputSource } from './sources.js';

export class SocketStdin {
  private socket: Socket | null = null;
  private readonly buffers = [Buffer.allocUnsafe(READ_CHUNK_BYTES), Buffer.allocUnsafe(READ_CHUNK_BYTES)];
  private turn = 0;
  /** Read and not yet taken by the consumer; reading waits while it is here. */
  private ready: Buffer | null = null;
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  /** close() was called: what is ready still goes on, then the chunks end. */
  closedByUs = false;

  constructor(
    private readonly fd: number,
    private readonly source: InputSource,
  ) {}

  /**
   * The socket, made when the chunks are first asked for: it starts reading at once, and an fd it
   * cannot take (a datagram socket) fails the read, which names the input.
   */
  private open(): Socket {
    // Node takes `onread` in the constructor too (lib/net.js), though its types list it only for connect().
    const options: SocketConstructorOpts & { onread: OnReadOpts } = {
      fd: this.fd,
      readable: true,
      writable: false,
      onread: { buffer: () => this.nextBuffer(), callback: (bytes, buf) => this.took(bytes, buf as Buffer) },
    };
    const socket = new Socket(options);
    socket.on('end', () => this.finish(null));
    socket.on('close', () => this.finish(null));
    socket.on('error', (error) => this.finish(error));
    return socket;
  }

  /** The memory the next read goes into; called once before the first read and after each. */
  private nextBuffer(): Buffer {
    this.turn ^= 1;
    return this.buffers[this.turn]!;
  }

  /** A read landed; false stops reading until the consumer takes it. */
  private took(bytes: number, buf: Buffer): boolean {
    const chunk = buf.subarray(0, bytes);
    this.source.bytesRead += bytes;
    this.ready = chunk;
    this.signal();
    return false;
  }

  private finish(error: Error | null): void {
    this.ended = true;
    this.failure ??= error;
    this.signal();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Ends the input (shutdown): a chunk already read is still delivered. */
  close(): void {
    // After the end was read, the input was read to its end whatever follows.
    if (!this.ended) this.closedByUs = true;
    this.ended = true;
    this.socket?.destroy();
    this.signal();
  }

  async *chunks(): AsyncGenerator<Buffer> {
    if (this.ended) return;
    const socket = (this.socket = this.open());
    try {
      for (;;) {
        while (this.ready === null && !this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
        const chunk = this.ready;
        if (chunk !== null) {
          this.ready = null;
          // The next read goes into the other buffer, whose chunk the consumer is done with.
          if (!this.ended) socket.resume();
          yield chunk;
          continue;
        }
        if (this.failure && !this.closedByUs) throw this.failure;
        return;
      }
    } finally {
      socket.destroy();
    }
  }
}
