/**
 * Our sender against an independent implementation of the receiving side: @fluent-org/logger's
 * FluentServer, over real sockets on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { FluentServer, type FluentServerOptions } from '@fluent-org/logger';
import { AuthError, TlsError } from '../../src/forward/errors.js';
import { Sender, type SenderOptions } from '../../src/forward/sender.js';
import { chunksOf, senderOptions, TAG, tlsFiles } from '../helpers/forward.js';

interface Received {
  tag: string;
  seconds: number;
  nanoseconds: number;
  record: Record<string, unknown>;
}

class RecordingServer extends FluentServer {
  readonly received: Received[] = [];
  protected override onEntry(tag: string, time: unknown, record: Record<string, unknown>): void {
    const t = time as { epoch: number; nano: number } | number;
    const [seconds, nanoseconds] = typeof t === 'number' ? [t, 0] : [t.epoch, t.nano];
    this.received.push({ tag, seconds, nanoseconds, record });
  }
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function server(options: FluentServerOptions = {}): Promise<RecordingServer> {
  const s = new RecordingServer({ listenOptions: { port: 0, host: '127.0.0.1' }, ...options });
  await s.listen();
  cleanup.push(() => s.close());
  return s;
}

function sender(options: SenderOptions): Sender {
  const s = new Sender(options);
  cleanup.push(() => s.close(0));
  return s;
}

async function shipAndCheck(s: RecordingServer, options: Partial<SenderOptions>, compress = false): Promise<void> {
  const { chunks, times } = chunksOf(250, 100, { compress });
  const snd = sender(senderOptions(s.port!, options));
  await Promise.all(chunks.map((c) => snd.send(c)));
  assert.equal(s.received.length, 250);
  for (const r of s.received) {
    assert.equal(r.tag, TAG);
    assert.deepEqual([r.seconds, r.nanoseconds], times.get(r.record.RequestID as string), 'nanosecond EventTime intact');
  }
  assert.equal(new Set(s.received.map((r) => r.record.RequestID)).size, 250);
}

const security = { serverHostname: 'fluent-peer', sharedKey: 'k3y', authorize: false, userDict: {} };

describe('sender → @fluent-org/logger FluentServer', () => {
  it('delivers every record over plain TCP with acks, nanoseconds intact', async () => {
    await shipAndCheck(await server(), {});
  });

  it('delivers gzip-compressed PackedForward chunks', async () => {
    await shipAndCheck(await server(), {}, true);
  });

  it('completes the shared-key handshake', async () => {
    await shipAndCheck(await server({ security }), { security: { sharedKey: 'k3y', selfHostname: 'shipper' } });
  });

  it('completes user authentication', async () => {
    const s = await server({ security: { ...security, authorize: true, userDict: { alice: 'wonderland' } } });
    await shipAndCheck(s, { security: { sharedKey: 'k3y', selfHostname: 'shipper', username: 'alice', password: 'wonderland' } });
  });

  it('delivers over TLS, verifying the server certificate', async () => {
    const s = await server({ tlsOptions: { cert: tlsFiles.cert(), key: tlsFiles.key() } });
    await shipAndCheck(s, { tls: { ca: tlsFiles.ca(), servername: 'localhost' } });
  });

  it('fails with an AuthError naming a shared key mismatch', async () => {
    const s = await server({ security });
    const snd = sender(senderOptions(s.port!, { security: { sharedKey: 'wrong', selfHostname: 'shipper' } }));
    await assert.rejects(
      snd.start(),
      (e: unknown) => e instanceof AuthError && /rejected the handshake/.test(e.message) && /shared/i.test(e.message),
    );
  });

  it('fails with an AuthError on a wrong password', async () => {
    const s = await server({ security: { ...security, authorize: true, userDict: { alice: 'wonderland' } } });
    const snd = sender(
      senderOptions(s.port!, { security: { sharedKey: 'k3y', selfHostname: 'shipper', username: 'alice', password: 'nope' } }),
    );
    await assert.rejects(snd.start(), (e: unknown) => e instanceof AuthError && /rejected the handshake/.test(e.message));
  });

  it('fails with an AuthError when the server wants a shared key and none is set', async () => {
    const s = await server({ security });
    const snd = sender(senderOptions(s.port!));
    const { chunks } = chunksOf(1, 1);
    await assert.rejects(snd.send(chunks[0]!), (e: unknown) => e instanceof AuthError && /--shared-key/.test(e.message));
  });

  it('fails with a TlsError when the certificate is not trusted', async () => {
    const s = await server({ tlsOptions: { cert: tlsFiles.cert(), key: tlsFiles.key() } });
    const snd = sender(senderOptions(s.port!, { tls: { ca: tlsFiles.otherCa(), servername: 'localhost' } }));
    await assert.rejects(snd.start(), (e: unknown) => e instanceof TlsError && /TLS with 127\.0\.0\.1:\d+ failed/.test(e.message));
  });

  it('fails with a TlsError when the name does not match', async () => {
    const s = await server({ tlsOptions: { cert: tlsFiles.cert(), key: tlsFiles.key() } });
    const snd = sender(senderOptions(s.port!, { tls: { ca: tlsFiles.ca(), servername: 'fluentd.example.com' } }));
    await assert.rejects(snd.start(), (e: unknown) => e instanceof TlsError && /fluentd\.example\.com/.test(e.message));
  });
});
