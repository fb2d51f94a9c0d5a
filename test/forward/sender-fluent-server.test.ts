/**
 * Our sender against an independent implementation of the receiving side: @fluent-org/logger's
 * FluentServer, over real sockets on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { FluentServer, type FluentServerOptions } from '@fluent-org/logger';
import { AuthError, ConnectError, RetryTimeoutError, TlsError, type ForwardError } from '../../src/forward/errors.js';
import { Sender, type SenderOptions } from '../../src/forward/sender.js';
import { chunksOf, senderOptions, TAG, tlsFiles } from '../helpers/forward.js';
import { waitFor } from '../helpers/ship-cli.js';

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

  it('passes over a server that refuses the shared key while another takes the chunks, and uses it once it takes them', async () => {
    const good = await server({ security });
    const wrong = await server({ security: { ...security, sharedKey: 'an-older-key' } });
    const port = wrong.port!;
    const snd = sender(
      senderOptions(good.port!, {
        endpoints: [
          { host: '127.0.0.1', port: good.port! },
          { host: '127.0.0.1', port },
        ],
        security: { sharedKey: 'k3y', selfHostname: 'shipper' },
        refusedRetryMs: 100,
      }),
    );
    const refusals: [ForwardError, string, number][] = [];
    snd.on('refused', (error, link, ms) => refusals.push([error, link.label, ms]));
    await Promise.all(chunksOf(250, 10, { seed: 1 }).chunks.map((c) => snd.send(c)));
    assert.equal(good.received.length, 250, 'every record delivered by the server that takes the key');
    assert.equal(wrong.received.length, 0);
    assert.ok(refusals.length > 0 && refusals[0]![0] instanceof AuthError, 'the refusal is told');
    assert.deepEqual([refusals[0]![1], refusals[0]![2]], [`127.0.0.1:${port}`, 100]);
    assert.ok(
      refusals.every(([, , ms], i) => i === 0 || ms >= refusals[i - 1]![2]),
      'the wait grows',
    );

    // The server gets the key (the aggregator's rollout reached it): it is tried again and takes its share.
    await wrong.close();
    const fixed = new RecordingServer({ listenOptions: { port, host: '127.0.0.1' }, security });
    await fixed.listen();
    cleanup.push(() => fixed.close());
    await waitFor(() => snd.servers().find((l) => l.label === `127.0.0.1:${port}`)?.state === 'up', 'the server that took the key');
    await Promise.all(chunksOf(250, 10, { seed: 2 }).chunks.map((c) => snd.send(c)));
    assert.ok(fixed.received.length > 0, 'the server taken back gets chunks');
    assert.equal(good.received.length + fixed.received.length, 500);
  });

  it('fails with the AuthError once every server has refused', async () => {
    const a = await server({ security });
    const b = await server({ security });
    const snd = sender(
      senderOptions(a.port!, {
        endpoints: [
          { host: '127.0.0.1', port: a.port! },
          { host: '127.0.0.1', port: b.port! },
        ],
        security: { sharedKey: 'wrong', selfHostname: 'shipper' },
        refusedRetryMs: 60_000,
      }),
    );
    await assert.rejects(snd.start(), (e: unknown) => e instanceof AuthError && /rejected the handshake/.test(e.message));
  });

  it('fails with a TlsError when the certificate is not trusted', async () => {
    const s = await server({ tlsOptions: { cert: tlsFiles.cert(), key: tlsFiles.key() } });
    const snd = sender(senderOptions(s.port!, { tls: { ca: tlsFiles.otherCa(), servername: 'localhost' } }));
    await assert.rejects(snd.start(), (e: unknown) => e instanceof TlsError && /TLS with 127\.0\.0\.1:\d+ failed/.test(e.message));
  });

  it('retries a server that ends the connection during the TLS handshake, and says to check that it serves TLS', async () => {
    // A restarting aggregator, or a load balancer before it, drops the first connection before the
    // handshake ends; the next one reaches the TLS server.
    const s = await server({ tlsOptions: { cert: tlsFiles.cert(), key: tlsFiles.key() } });
    let accepted = 0;
    const front = createServer((client: Socket) => {
      if (accepted++ === 0) return void client.destroy();
      const upstream = connect(s.port!, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => front.close(resolve)));
    const { chunks } = chunksOf(50, 10);
    const snd = sender(senderOptions((front.address() as { port: number }).port, { tls: { ca: tlsFiles.ca(), servername: 'localhost' } }));
    const retried: ForwardError[] = [];
    snd.on('connect-error', (error) => retried.push(error));
    await Promise.all(chunks.map((c) => snd.send(c)));
    assert.equal(s.received.length, 50, 'every record delivered on the next connection');
    assert.equal(retried.length, 1);
    assert.ok(retried[0] instanceof ConnectError, `a connect error, retried: ${retried[0]?.constructor.name}`);
    assert.match(
      retried[0].message,
      /the connection ended during the TLS handshake \(Client network socket disconnected before secure TLS connection was established\); is TLS on at the server\?/,
    );
  });

  it('against a server without TLS: a silent one and one that ends the connection are retried, one that answers is fatal; each says to check TLS', async () => {
    const tls = { ca: tlsFiles.ca(), servername: 'localhost' };
    // Fluentd's forward input without <transport tls> reads the hello as broken chunks and says nothing.
    const silent = createServer((socket: Socket) => socket.resume());
    // audit-ship receive names the hello and closes.
    const closing = createServer((socket: Socket) => socket.once('data', () => socket.destroy()));
    for (const s of [silent, closing]) {
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
      cleanup.push(() => new Promise((resolve) => s.close(resolve)));
    }
    const port = (s: typeof silent) => (s.address() as { port: number }).port;
    for (const [peer, expected] of [
      [
        silent,
        /timed out after 100 ms: the TLS handshake had no answer; is TLS on at the server\? \(Fluentd serves it with <transport tls>/,
      ],
      [closing, /the connection ended during the TLS handshake .*; is TLS on at the server\?/],
    ] as const) {
      const snd = sender(senderOptions(port(peer), { tls, retryTimeoutMs: 300, connectTimeoutMs: 100 }));
      const retried: ForwardError[] = [];
      snd.on('connect-error', (error) => retried.push(error));
      await assert.rejects(snd.start(), (e: unknown) => e instanceof RetryTimeoutError);
      assert.ok(retried.length >= 2, `${retried.length} attempts`);
      for (const error of retried) assert.match(error.message, expected);
    }
    // FluentServer with a shared key sends its HELO first: bytes that are not TLS.
    const helo = await server({ security });
    const snd = sender(senderOptions(helo.port!, { tls }));
    await assert.rejects(
      snd.start(),
      (e: unknown) =>
        e instanceof TlsError && /the server answered in something other than TLS .*; is TLS on at the server\?/.test(e.message),
    );
  });

  it('against a TLS server without --tls: the reset, and a HELO that never comes, each say to check TLS', async () => {
    const s = await server({ tlsOptions: { cert: tlsFiles.cert(), key: tlsFiles.key() } });
    const { chunks } = chunksOf(1, 1);
    const plain = sender(senderOptions(s.port!, { retryTimeoutMs: 300 }));
    const lost: ForwardError[] = [];
    plain.on('connection-lost', (error) => lost.push(error));
    await assert.rejects(plain.send(chunks[0]!), (e: unknown) => e instanceof RetryTimeoutError);
    assert.ok(lost.length >= 1, `${lost.length} connections lost`);
    for (const error of lost) {
      assert.match(
        error.message,
        /(lost: reset|closed the connection) before (the server|it) sent anything; does the server expect TLS\? \(Fluentd does with <transport tls>/,
      );
    }
    // With a shared key the client waits for a HELO, and the TLS server for a TLS hello.
    const keyed = sender(
      senderOptions(s.port!, { retryTimeoutMs: 300, handshakeTimeoutMs: 100, security: { sharedKey: 'k3y', selfHostname: 'shipper' } }),
    );
    const retried: ForwardError[] = [];
    keyed.on('connect-error', (error) => retried.push(error));
    await assert.rejects(keyed.start(), (e: unknown) => e instanceof RetryTimeoutError);
    assert.ok(retried.length >= 1);
    for (const error of retried) {
      assert.match(
        error.message,
        /within 100 ms: it sent no HELO; does the server have a <security> section with the shared key, or does it expect TLS \(then give --tls\)\?/,
      );
    }
  });

  it('a server that is not a forward input (HTTP, HTTPS, an SSH banner) is named as such, not as an unexpected message', async () => {
    const listening = async (server: Server | HttpsServer) => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanup.push(() => new Promise((resolve) => server.close(resolve)));
      return (server.address() as { port: number }).port;
    };
    const notForward =
      /answered in (HTTP|text) \("[^"]+"\), not the Forward protocol; is this Fluentd's forward input\? \(<source> @type forward, port 24224/;
    const cases: [number, Partial<SenderOptions>, RegExp][] = [
      // Its answer to our chunk: a 400, as from Fluentd's in_http or a metrics port.
      [await listening(createHttpServer((_, res) => res.end())), {}, /answered in HTTP \("HTTP\/1\.1 400 Bad Request"\)/],
      [
        await listening(createHttpsServer({ cert: tlsFiles.cert(), key: tlsFiles.key() }, (_, res) => res.end())),
        { tls: { ca: tlsFiles.ca(), servername: 'localhost' } },
        /answered in HTTP \("HTTP\/1\.1 400 Bad Request"\)/,
      ],
      // A banner comes first, where a shared key awaits HELO: it was "did not start with HELO; is <security> configured".
      [
        await listening(createServer((socket: Socket) => socket.end('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n'))),
        { security: { sharedKey: 'k3y', selfHostname: 'shipper' } },
        /answered in text \("SSH-2\.0-OpenSSH_9\.2p1 Debian-2"\)/,
      ],
    ];
    for (const [port, options, expected] of cases) {
      const snd = sender(senderOptions(port, { retryTimeoutMs: 300, ...options }));
      const errors: ForwardError[] = [];
      snd.on('connect-error', (error) => errors.push(error));
      snd.on('connection-lost', (error) => errors.push(error));
      await assert.rejects(snd.send(chunksOf(1, 1).chunks[0]!), (e: unknown) => e instanceof RetryTimeoutError);
      assert.ok(errors.length >= 1, `${errors.length} errors`);
      for (const error of errors) {
        assert.match(error.message, expected);
        assert.match(error.message, notForward);
      }
    }
  });

  it('a server that answered earlier in the run and then ends connections unanswered (a restart) gets no TLS hint', async () => {
    const s = await server();
    const { chunks } = chunksOf(2, 1);
    const snd = sender(senderOptions(s.port!, { retryTimeoutMs: 300 }));
    await snd.send(chunks[0]!);
    const port = s.port!;
    await s.close();
    const ending = createServer((socket: Socket) => socket.once('data', () => socket.destroy()));
    await new Promise<void>((resolve) => ending.listen(port, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => ending.close(resolve)));
    const lost: ForwardError[] = [];
    snd.on('connection-lost', (error) => lost.push(error));
    await assert.rejects(snd.send(chunks[1]!), (e: unknown) => e instanceof RetryTimeoutError);
    assert.ok(lost.length >= 1, `${lost.length} connections lost`);
    for (const error of lost) assert.doesNotMatch(error.message, /TLS/);
  });

  it('presents a client certificate to a server that requires one; without one, says to give it', async () => {
    const tlsOptions = { cert: tlsFiles.cert(), key: tlsFiles.key(), ca: tlsFiles.clientCa(), requestCert: true, rejectUnauthorized: true };
    const tls = { ca: tlsFiles.ca(), servername: 'localhost' };
    await shipAndCheck(await server({ tlsOptions }), { tls: { ...tls, cert: tlsFiles.clientCert(), key: tlsFiles.clientKey() } });
    const none = sender(senderOptions((await server({ tlsOptions })).port!, { tls }));
    const { chunks } = chunksOf(1, 1);
    await assert.rejects(
      none.send(chunks[0]!),
      (e: unknown) => e instanceof TlsError && /does that: give --tls-cert and --tls-key$/.test(e.message),
    );
  });

  it('says what to check when a server ends connections just after the handshake, as one refusing the client certificate does', async () => {
    const tlsOptions = { cert: tlsFiles.cert(), key: tlsFiles.key(), ca: tlsFiles.clientCa(), requestCert: true, rejectUnauthorized: true };
    // A certificate the server's client CA did not sign: under TLS 1.3 the client's handshake is done before the server checks it.
    const tls = { ca: tlsFiles.ca(), servername: 'localhost', cert: tlsFiles.cert(), key: tlsFiles.key() };
    const snd = sender(senderOptions((await server({ tlsOptions })).port!, { tls, retryTimeoutMs: 1000 }));
    const lost: ForwardError[] = [];
    snd.on('connection-lost', (error) => lost.push(error));
    const failed = await snd.send(chunksOf(1, 1).chunks[0]!).then(
      () => assert.fail('delivered to a server that does not accept the certificate'),
      (e: unknown) => e as ForwardError,
    );
    // Retried (a server may drop a connection so for other reasons), or refused when the server's alert got through.
    const said = failed instanceof TlsError ? [...lost, failed] : lost;
    if (!(failed instanceof TlsError)) assert.ok(failed instanceof RetryTimeoutError, failed.message);
    assert.ok(said.length >= 1, failed.message);
    for (const error of said) {
      assert.match(
        error.message,
        /just after the handshake: check that a CA the server trusts signed it|does not accept the client certificate/,
        error.message,
      );
    }
  });

  it('fails with a TlsError when the name does not match', async () => {
    const s = await server({ tlsOptions: { cert: tlsFiles.cert(), key: tlsFiles.key() } });
    const snd = sender(senderOptions(s.port!, { tls: { ca: tlsFiles.ca(), servername: 'fluentd.example.com' } }));
    await assert.rejects(snd.start(), (e: unknown) => e instanceof TlsError && /fluentd\.example\.com/.test(e.message));
  });
});
