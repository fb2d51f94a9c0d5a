/**
 * EventTime for @msgpack/msgpack, which encodes the handshake, acks and option maps and decodes
 * what a server or a client sends: ext type 0, 8 bytes.
 */
import { ExtensionCodec } from '@msgpack/msgpack';
import { EVENT_TIME_EXT_TYPE, EventTime } from './event-time.js';

/** An ExtensionCodec for @msgpack/msgpack that encodes and decodes EventTime as ext type 0. */
export const eventTimeCodec = new ExtensionCodec();
eventTimeCodec.register({
  type: EVENT_TIME_EXT_TYPE,
  encode(value: unknown): Uint8Array | null {
    if (!(value instanceof EventTime)) return null;
    const data = Buffer.alloc(8);
    data.writeUInt32BE(value.seconds, 0);
    data.writeUInt32BE(value.nanoseconds, 4);
    return data;
  },
  decode(data: Uint8Array): EventTime {
    if (data.length !== 8) throw new RangeError(`EventTime needs 8 bytes, found ${data.length}`);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return new EventTime(view.getUint32(0), view.getUint32(4));
  },
});
