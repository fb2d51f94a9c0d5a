/**
 * A forward receiver whose ack behaviour each test scripts: ack, drop the connection, hold the ack,
 * delay it, or release held acks in any order. It decodes with @msgpack/msgpack directly, not with
 * audit-ship's own decoder, so the sender is checked by code it does not share.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { decodeMulti, decodeMultiStream, encode, ExtensionCodec } from '@msgpack/msgpack';
import { gunzipSync } from 'node:zlib';

const codec = new ExtensionCodec();
codec.register({
  type: 0,
  encode: () => null,
  decode: (d: Uint8Array) => {
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    return { seconds: v.getUint32(0), nanoseconds: v.getUint32(4) };
  },
});

export interface ReceivedChunk {
  connection: number;
  chunk: string;
  records: { seconds: number; nanoseconds: number; record: Record<string, unknown> }[];
}

/** `ack-and-close`: acks, then closes the connection unread beyond this chunk, as Fluentd's deny_keepalive does. */
export type AckAction = 'ack' | 'ack-and-close' | 'drop' | 'hold' | { delayMs: number };

export interface ChunkContext {
  connection: number;
  /** 0-based index of this chunk on its connection. */
  index: number;
  chunk: string;
}

export class FaultServer {
  readonly chunks: ReceivedChunk[] = [];
  connections = 0;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  /** Held acks per connection, to be released later (in any order). */
  readonly held: { socket: Socket; chunk: string }[] = [];

  constructor(
    private readonly decide: (ctx: ChunkContext) => AckAction,
    /** Bytes after which a connection is cut, in the middle of whatever frame is arriving; null: never. */
    private readonly cutAfterBytes: (connection: number) => number | null = () => null,
  ) {}

  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    this.server = createServer((socket) => void this.handle(socket));
    this.server.listen(port, host);
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  /** Every record received, duplicates included. */
  get records(): ReceivedChunk['records'] {
    return this.chunks.flatMap((c) => c.records);
  }

  release(order: 'fifo' | 'reverse' = 'fifo'): void {
    const acks = this.held.splice(0);
    if (order === 'reverse') acks.reverse();
    for (const { socket, chunk } of acks) if (!socket.destroyed) socket.write(encode({ ack: chunk }));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server?.listening) {
      const closed = once(this.server, 'close');
      this.server.close();
      await closed;
    }
  }

  private async handle(socket: Socket): Promise<void> {
    const connection = ++this.connections;
    let index = 0;
    this.sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => this.sockets.delete(socket));
    const input = new PassThrough();
    const cut = this.cutAfterBytes(connection);
    let received = 0;
    socket.on('data', (data: Buffer) => {
      if (cut !== null && received + data.length >= cut) {
        input.end(data.subarray(0, cut - received));
        socket.destroy();
        return;
      }
      received += data.length;
      input.write(data);
    });
    socket.on('close', () => input.end());
    try {
      for await (const message of decodeMultiStream(input, { extensionCodec: codec })) {
        const [, entries, option] = message as [string, Uint8Array, { chunk: string; compressed?: string }];
        const bytes = option.compressed === 'gzip' ? gunzipSync(entries) : entries;
        const records = [...decodeMulti(bytes, { extensionCodec: codec })].map((e) => {
          const [time, record] = e as [{ seconds: number; nanoseconds: number }, Record<string, unknown>];
          return { ...time, record };
        });
        const action = this.decide({ connection, index: index++, chunk: option.chunk });
        if (action === 'drop') {
          socket.destroy();
          return;
        }
        this.chunks.push({ connection, chunk: option.chunk, records });
        if (action === 'ack-and-close') {
          socket.end(encode({ ack: option.chunk }));
          return;
        }
        if (action === 'ack') socket.write(encode({ ack: option.chunk }));
        else if (action === 'hold') this.held.push({ socket, chunk: option.chunk });
        else setTimeout(() => !socket.destroyed && socket.write(encode({ ack: option.chunk })), action.delayMs);
      }
    } catch {
      socket.destroy();
    }
  }
}
