/**
 * Byte-exact vectors. The expected bytes and digests were produced by Fluentd v1.18's own Ruby code
 * (Fluent::EventTime packed by Fluent::MessagePackFactory, Digest::SHA512), not by this project.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ChunkBuilder, compressChunk } from '../../src/forward/chunk.js';
import { decodeTransport, entriesInStr, ProtocolViolation } from '../../src/forward/decode-transport.js';
import { decode, decodeMulti, encode } from '@msgpack/msgpack';
import { EventTime, writeEventTime } from '../../src/forward/event-time.js';
import { eventTimeCodec } from '../../src/forward/event-time-codec.js';
import {
  encodeAck,
  encodeMessage,
  encodePackedForward,
  encodePing,
  newChunkId,
  parseAck,
  parseHelo,
  parsePing,
  parsePong,
  passwordDigest,
  pongDigestMatches,
  sharedKeyDigest,
} from '../../src/forward/protocol.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const RUBY = {
  eventTime: 'd700614b1f0b100f946f',
  entry:
    '92d700614b1f0b100f946f83a9526571756573744944d92463653566313061322d633837342d343131352d383831652d373065376335653865623361ae526573706f6e7365537461747573ccc8a647726f757073c0',
  frame:
    '93b36465706c6f795f61756469742e73656c646f6ec45592d700614b1f0b100f946f83a9526571756573744944d92463653566313061322d633837342d343131352d383831652d373065376335653865623361ae526573706f6e7365537461747573ccc8a647726f757073c082a473697a6501a56368756e6bb841414543417751464267634943516f4c4441304f44773d3d',
  sharedKeyDigest:
    '892f9489bd6cbcddbb4742685f56a2ced16bb4d992457735436982576f71baebeeeb6d86571991c14838ba36f4426ab74a6994c35ae741700edc30305b68ca32',
  passwordDigest:
    'c08eb1aca5422c7dd0d4b41544326ef75fbb86399e186f7d87f440289e6a5ee4151c48e9fb2e56056011604e4f200a4b7dadebc2542ba88fb0bd5b238889f14a',
  ack: '81a361636bb841414543417751464267634943516f4c4441304f44773d3d',
};
const RECORD = { RequestID: 'ce5f10a2-c874-4115-881e-70e7c5e8eb3a', ResponseStatus: 200, Groups: null };
const CHUNK_ID = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex').toString('base64');
const NONCE = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const AUTH_SALT = Buffer.from('0f0e0d0c0b0a09080706050403020100', 'hex');

describe('EventTime', () => {
  it('encodes as ext type 0 with big-endian uint32 seconds and nanoseconds', () => {
    const out = Buffer.alloc(10);
    writeEventTime(out, 0, 1632313099, 269456495);
    assert.equal(hex(out), RUBY.eventTime);
    assert.equal(hex(encodeMessage(new EventTime(1632313099, 269456495))), RUBY.eventTime);
  });

  it('knows which times the wire format can carry', () => {
    assert.equal(EventTime.representable(0, 0), true);
    assert.equal(EventTime.representable(0xffffffff, 999999999), true);
    assert.equal(EventTime.representable(-1, 0), false);
    assert.equal(EventTime.representable(2 ** 32, 0), false);
  });
});

describe('PackedForward', () => {
  it('builds entries and the frame byte for byte as Fluentd does', () => {
    const builder = new ChunkBuilder({ maxRecords: 10, maxBytes: 1024 });
    builder.append(1632313099, 269456495, RECORD);
    const chunk = builder.take()!;
    assert.equal(hex(chunk.entries), RUBY.entry);
    const frame = Buffer.concat(encodePackedForward('deploy_audit.seldon', chunk.entries, { size: 1, chunk: CHUNK_ID }));
    assert.equal(hex(frame), RUBY.frame);
  });

  it('adds a key to the record just written, widening its map header where the count needs it', () => {
    for (const keys of [0, 3, 14, 15, 16, 0xfffe, 0xffff, 0x10000]) {
      const record = Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i]));
      const builder = new ChunkBuilder({ maxRecords: 10, maxBytes: 4 * 1024 * 1024 });
      builder.append(1, 0, { before: true });
      const start = builder.beginEntry();
      builder.writeRecord(record);
      builder.appendToRecord(start, 'kubernetes', { pod: 'sd-a' });
      builder.endEntry(start, 2, 0);
      builder.append(3, 0, { after: true });
      const entries = [...decodeMulti(builder.take()!.entries, { extensionCodec: eventTimeCodec })] as [unknown, unknown][];
      assert.deepEqual(
        entries.map(([, r]) => r),
        [{ before: true }, { ...record, kubernetes: { pod: 'sd-a' } }, { after: true }],
        `${keys} keys`,
      );
    }
  });

  it('uses bin 32 for large entry streams and str 8 for long tags', () => {
    const entries = Buffer.alloc(70000, 0xc0);
    const [head] = encodePackedForward('t'.repeat(40), entries, { size: 70000, chunk: CHUNK_ID });
    assert.equal(hex(head!), `93d928${'74'.repeat(40)}c600011170`);
  });

  it('compresses entries with gzip and marks the option, and the receiver side reads them back', async () => {
    const builder = new ChunkBuilder({ maxRecords: 10, maxBytes: 1024 });
    builder.append(1632313099, 269456495, RECORD);
    builder.append(1632313100, 1, RECORD);
    const chunk = await compressChunk(builder.take()!);
    assert.equal(chunk.compressed, true);
    assert.equal(hex(gunzipSync(chunk.entries)).slice(0, RUBY.entry.length), RUBY.entry);
    const message = decodeFrame(encodePackedForward('t', chunk.entries, { size: 2, chunk: CHUNK_ID, compressed: 'gzip' }));
    const decoded = decodeTransport(message);
    assert.equal(decoded.mode, 'compressed-packed-forward');
    assert.deepEqual(
      decoded.events.map((e) => [e.time.seconds, e.time.nanoseconds]),
      [
        [1632313099, 269456495],
        [1632313100, 1],
      ],
    );
    assert.equal(decoded.chunk, CHUNK_ID);
  });

  it('compresses at the level asked for', async () => {
    const builder = new ChunkBuilder({ maxRecords: 1000, maxBytes: 1 << 20 });
    for (let i = 0; i < 500; i++) builder.append(1632313099 + i, i, { ...RECORD, n: i });
    const chunk = builder.take()!;
    const [fast, small] = await Promise.all([compressChunk(chunk, 1), compressChunk(chunk, 9)]);
    assert.ok(small.entries.length < fast.entries.length, `level 9: ${small.entries.length} bytes, level 1: ${fast.entries.length}`);
    assert.deepEqual(gunzipSync(fast.entries), chunk.entries);
    assert.deepEqual(gunzipSync(small.entries), chunk.entries);
  });

  it('reads a gzip stream of several members', () => {
    const one = Buffer.from(RUBY.entry, 'hex');
    const twoMembers = Buffer.concat([gzipSync(one), gzipSync(one)]);
    const decoded = decodeTransport(['t', twoMembers, { compressed: 'gzip' }]);
    assert.equal(decoded.events.length, 2);
  });

  it('starts a new chunk only when take() is called and counts bytes and records', () => {
    const builder = new ChunkBuilder({ maxRecords: 2, maxBytes: 1 << 20 });
    assert.equal(builder.take(), null);
    builder.append(1, 0, RECORD);
    assert.equal(builder.full, false);
    builder.append(2, 0, RECORD);
    assert.equal(builder.full, true);
    assert.equal(builder.take()!.count, 2);
    assert.equal(builder.count, 0);
  });
});

function decodeSync(bytes: Buffer): unknown {
  return decode(bytes, { extensionCodec: eventTimeCodec });
}

function decodeFrame(parts: Buffer[]): unknown {
  return decodeSync(Buffer.concat(parts));
}

describe('other carrier modes', () => {
  it('decodes Message mode and Forward mode, with integer and float times', () => {
    const m = decodeTransport(decodeSync(encodeMessage(['t', new EventTime(5, 6), RECORD, { chunk: 'c1' }])));
    assert.deepEqual([m.mode, m.events[0]!.time.seconds, m.events[0]!.time.nanoseconds, m.chunk], ['message', 5, 6, 'c1']);
    const f = decodeTransport(
      decodeSync(
        encodeMessage([
          't',
          [
            [7, RECORD],
            [8.5, RECORD],
          ],
        ]),
      ),
    );
    assert.deepEqual(
      f.events.map((e) => [e.time.seconds, e.time.nanoseconds]),
      [
        [7, 0],
        [8, 500000000],
      ],
    );
    assert.equal(f.chunk, null);
  });

  it('tells a PackedForward frame whose entries come as a str, whatever the tag and entries lengths', () => {
    const frame = (...parts: unknown[]) => Buffer.from(encode(parts));
    for (const tag of ['t', 'x'.repeat(40), 'y'.repeat(300)]) {
      assert.equal(entriesInStr(frame(tag, 'entries', {})), true, `${tag.length}-byte tag, fixstr entries`);
      assert.equal(entriesInStr(frame(tag, 'e'.repeat(70_000), {})), true, `${tag.length}-byte tag, str32 entries`);
      assert.equal(entriesInStr(frame(tag, new Uint8Array(3), {})), false, 'bin entries');
      assert.equal(entriesInStr(frame(tag, [], {})), false, 'Forward mode');
      assert.equal(entriesInStr(frame(tag, 1632312000, { a: 1 })), false, 'Message mode');
    }
    assert.equal(entriesInStr(frame('PING', 'h', 's', 'd', '', '')), false, 'not a transport message');
    assert.equal(entriesInStr(Buffer.from([0x93, 0xdb, 0xff])), false, 'cut short');
  });

  it('rejects malformed transport messages with a reason', () => {
    for (const bad of [
      42,
      ['t'],
      [1, 2, {}],
      ['t', 1, 'not a map'],
      ['t', [[1]]],
      ['t', Buffer.from([0xc1])],
      ['t', [['x', {}]]],
      ['t', 'entries read as text', {}],
      ['t', [[[1], {}]]],
    ]) {
      assert.throws(() => decodeTransport(bad), ProtocolViolation, JSON.stringify(bad));
    }
  });
});

describe('handshake', () => {
  it('computes the shared key digest as hex(sha512(salt + hostname + nonce + key))', () => {
    assert.equal(sharedKeyDigest('0123456789abcdef0123456789abcdef', 'shipper-1', NONCE, 's3cr3t'), RUBY.sharedKeyDigest);
  });

  it('computes the password digest as hex(sha512(auth_salt + username + password))', () => {
    assert.equal(passwordDigest(AUTH_SALT, 'alice', 'wonderland'), RUBY.passwordDigest);
  });

  it('builds PING with user auth only when HELO asks for it', () => {
    const helo = parseHelo(['HELO', { nonce: NONCE, auth: AUTH_SALT, keepalive: true }])!;
    const ping = parsePing(
      decodeSync(
        encodePing({
          selfHostname: 'shipper-1',
          sharedKey: 's3cr3t',
          sharedKeySalt: '0123456789abcdef0123456789abcdef',
          helo,
          username: 'alice',
          password: 'wonderland',
        }),
      ),
    );
    assert.deepEqual(ping, [
      'PING',
      'shipper-1',
      Buffer.from('0123456789abcdef0123456789abcdef'),
      RUBY.sharedKeyDigest,
      'alice',
      RUBY.passwordDigest,
    ]);
    const noAuth = parseHelo(['HELO', { nonce: NONCE, auth: '', keepalive: true }])!;
    const plain = parsePing(
      decodeSync(encodePing({ selfHostname: 'h', sharedKey: 'k', sharedKeySalt: 's', helo: noAuth, username: 'alice', password: 'x' })),
    );
    assert.deepEqual(plain!.slice(4), ['', '']);
  });

  it('keeps random bytes sent as str as their bytes, when strings are decoded raw', () => {
    // Fluent Bit packs its nonce, auth salt and PING salt as str: only their bytes hash as it does.
    const nonce = Buffer.from('80818283848586878889fafbfcfdfeff', 'hex');
    const str = (b: Buffer) => Buffer.concat([Buffer.from([0xa0 | b.length]), b]);
    const heloBytes = Buffer.concat([
      Buffer.from([0x92]),
      str(Buffer.from('HELO')),
      Buffer.from([0x81]),
      str(Buffer.from('nonce')),
      str(nonce),
    ]);
    const helo = parseHelo(decode(heloBytes, { rawStrings: true }))!;
    assert.equal(hex(helo.nonce), hex(nonce));
    const pingBytes = Buffer.concat([
      Buffer.from([0x96]),
      ...[Buffer.from('PING'), Buffer.from('fb-1'), nonce, Buffer.from('digest'), Buffer.from(''), Buffer.from('')].map(str),
    ]);
    const ping = parsePing(decode(pingBytes, { rawStrings: true }))!;
    assert.deepEqual(ping, ['PING', 'fb-1', nonce, 'digest', '', '']);
    const pong = parsePong(decode(encodeMessage(['PONG', true, '', 'fb-1', 'abc']), { rawStrings: true }))!;
    assert.deepEqual(pong, { authenticated: true, reason: '', serverHostname: 'fb-1', digest: 'abc' });
  });

  it('verifies the server digest in PONG', () => {
    const salt = 'feedface';
    const good = parsePong(['PONG', true, '', 'fluentd-1', sharedKeyDigest(salt, 'fluentd-1', NONCE, 's3cr3t')])!;
    assert.equal(pongDigestMatches(good, salt, NONCE, 's3cr3t'), true);
    assert.equal(pongDigestMatches(good, salt, NONCE, 'other key'), false);
    assert.equal(parsePong(['PONG', 'yes', '', 'h', 'd']), null);
    assert.equal(parseHelo(['HELO']), null);
  });
});

describe('acks and chunk ids', () => {
  it('encodes and parses {ack: chunk} byte for byte', () => {
    assert.equal(hex(encodeAck(CHUNK_ID)), RUBY.ack);
    assert.equal(parseAck(decodeSync(Buffer.from(RUBY.ack, 'hex'))), CHUNK_ID);
    assert.equal(parseAck({ ack: Buffer.from(CHUNK_ID, 'latin1') }), CHUNK_ID, 'an ack sent as bin matches too');
    assert.equal(parseAck(['ack']), null);
  });

  it('makes chunk ids of 16 random bytes in base64', () => {
    const a = newChunkId();
    assert.equal(Buffer.from(a, 'base64').length, 16);
    assert.notEqual(a, newChunkId());
  });
});
