/**
 * The shared-key handshake with peers that send their random bytes as msgpack str, as Fluent Bit
 * does: its forward input packs the HELO nonce and auth salt as str, its forward output the PING
 * salt. Both peers here are written byte by byte as Fluent Bit packs them, read with
 * @msgpack/msgpack, and check digests made with node:crypto over the raw bytes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { decodeMulti, decodeMultiStream, encode } from '@msgpack/msgpack';
import { sampleRecords } from '../../src/sample/generate.js';
import { runCli } from '../helpers/cli.js';
import { testPeer } from '../helpers/net.js';
import { receivers } from '../helpers/receive-cli.js';

/** 16 bytes that are no UTF-8 (continuation bytes with no lead byte): decoded as text, each is lost. */
const NONCE = Buffer.from(Array.from({ length: 16 }, (_, i) => 0x80 + i));
const AUTH_SALT = Buffer.from(Array.from({ length: 16 }, (_, i) => 0xff - i));
const PING_SALT = Buffer.from(Array.from({ length: 16 }, (_, i) => 0x90 + i * 3));

const sha512Hex = (...parts: (string | Buffer)[]) => {
  const hash = createHash('sha512');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
};

/** A msgpack fixstr holding `bytes` as they are (msgpack_pack_str + msgpack_pack_str_body). */
const fixstr = (bytes: Buffer) => Buffer.concat([Buffer.from([0xa0 | bytes.length]), bytes]);
const text = (value: unknown) => Buffer.from(value as Uint8Array).toString('utf8');

/** `['HELO', {nonce, auth}]` as Fluent Bit's forward input sends it. */
function fluentBitHelo(): Buffer {
  return Buffer.concat([
    Buffer.from([0x92]),
    fixstr(Buffer.from('HELO')),
    Buffer.from([0x82]),
    fixstr(Buffer.from('nonce')),
    fixstr(NONCE),
    fixstr(Buffer.from('auth')),
    fixstr(AUTH_SALT),
  ]);
}

interface FluentBitInput {
  port: number;
  records: number;
  pings: { shared: boolean; user: boolean }[];
}

/**
 * A forward input like Fluent Bit's with `Shared_Key` and `security.users`: it checks PING over the
 * raw bytes of its nonce and salt, closes the connection on a mismatch, and acks each chunk.
 */
async function fluentBitInput(t: TestContext, key: string, user: string, password: string): Promise<FluentBitInput> {
  const state: FluentBitInput = { port: 0, records: 0, pings: [] };
  state.port = await testPeer(t, (socket) => {
    socket.write(fluentBitHelo());
    void (async () => {
      let authenticated = false;
      for await (const message of decodeMultiStream<undefined>(socket, { rawStrings: true })) {
        if (!authenticated) {
          const [, hostname, salt, digest, username, passwordDigest] = (message as Uint8Array[]).map((v) => Buffer.from(v));
          const shared = text(digest) === sha512Hex(salt!, hostname!, NONCE, key);
          const userOk = text(username) === user && text(passwordDigest) === sha512Hex(AUTH_SALT, user, password);
          state.pings.push({ shared, user: userOk });
          if (!shared || !userOk) return socket.destroy();
          authenticated = true;
          socket.write(encode(['PONG', true, '', 'fb-aggregator', sha512Hex(salt!, 'fb-aggregator', NONCE, key)]));
          continue;
        }
        const [, entries, option] = message as [Uint8Array, Uint8Array, { chunk: Uint8Array }];
        state.records += [...decodeMulti(entries)].length;
        socket.write(encode({ ack: text(option.chunk) }));
      }
    })().catch(() => socket.destroy());
  });
  return state;
}

const SAMPLE = { seed: 57, start: 1632312000 };
const lines = (n: number) => [...sampleRecords(n, SAMPLE)].map((r) => `${JSON.stringify(r)}\n`).join('');

describe('a peer that sends its random bytes as str (Fluent Bit)', () => {
  it('ship completes the shared-key and user handshake with its forward input', async (t) => {
    const input = await fluentBitInput(t, 'k3y', 'alice', 'wonderland');
    const args = ['--port', String(input.port), '--shared-key', 'k3y', '--username', 'alice', '--password', 'wonderland'];
    const res = await runCli([...args, '--retry-timeout', '3s', '-'], { input: lines(10) });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(input.records, 10);
    assert.deepEqual(input.pings, [{ shared: true, user: true }]);
  });

  it('ship names the shared key when the input closes the connection after PING', async (t) => {
    const input = await fluentBitInput(t, 'k3y', 'alice', 'wonderland');
    const args = ['--port', String(input.port), '--shared-key', 'other', '--username', 'alice', '--password', 'wonderland'];
    const res = await runCli([...args, '--retry-timeout', '2s', '-'], { input: lines(3) });
    assert.equal(res.code, 3, res.stderr);
    assert.equal(input.records, 0);
    assert.ok(input.pings.length > 0 && input.pings.every((p) => !p.shared));
    assert.match(
      res.stderr,
      /closed the connection after our PING, with no PONG; a server that does not accept the shared key \(--shared-key\)/,
    );
    assert.match(res.stderr, /gave up: .*the last try: .*after our PING/);
  });

  const receiver = receivers();

  it("receive checks its output's PING over the bytes of the salt", async () => {
    const r = await receiver(['--shared-key', 'k3y', '--user', 'alice:wonderland']);
    const socket = connect(r.port, '127.0.0.1');
    socket.on('error', () => {});
    const replies = decodeMultiStream<undefined>(socket, { rawStrings: true })[Symbol.asyncIterator]();
    const helo = (await replies.next()).value as [Uint8Array, { nonce: Uint8Array; auth: Uint8Array }];
    const nonce = Buffer.from(helo[1].nonce);
    const auth = Buffer.from(helo[1].auth);
    const ping = Buffer.concat([
      Buffer.from([0x96]),
      fixstr(Buffer.from('PING')),
      fixstr(Buffer.from('fb-client')),
      fixstr(PING_SALT),
      Buffer.from(encode(sha512Hex(PING_SALT, 'fb-client', nonce, 'k3y'))),
      fixstr(Buffer.from('alice')),
      Buffer.from(encode(sha512Hex(auth, 'alice', 'wonderland'))),
    ]);
    socket.write(ping);
    const pong = ((await replies.next()).value as unknown[]).map((v) => (v instanceof Uint8Array ? text(v) : v));
    assert.equal(pong[1], true, `PONG: ${JSON.stringify(pong)}; ${r.stderr()}`);
    assert.equal(pong[4], sha512Hex(PING_SALT, pong[3] as string, nonce, 'k3y'));
    const [record] = sampleRecords(1, SAMPLE);
    socket.write(encode(['fluent-bit', Math.floor(Date.now() / 1000), record, { chunk: 'c2hpcA==' }]));
    const ack = (await replies.next()).value as { ack: Uint8Array };
    assert.equal(text(ack.ack), 'c2hpcA==');
    socket.destroy();
    assert.deepEqual(r.requestIds(), [record!.RequestID]);
  });
});
