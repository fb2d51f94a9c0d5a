/**
 * `audit-ship receive` against independent client implementations: @fluent-org/logger's
 * FluentClient and fluent-logger, in every carrier mode they offer, with security and TLS.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventTime, FluentClient, type EventModes } from '@fluent-org/logger';
import { decode, encode, ExtData } from '@msgpack/msgpack';
import { sampleRecords } from '../../src/sample/generate.js';
import { parseTimestamp, formatTimestamp } from '../../src/schema/timestamp.js';
import { receivers, startReceiveCli, type RunningReceiver } from '../helpers/receive-cli.js';
import { fixture } from '../helpers/paths.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { chunksOf, senderOptions, tlsFiles } from '../helpers/forward.js';
import { Sender } from '../../src/forward/sender.js';
import { AuthError } from '../../src/forward/errors.js';

const require = createRequire(import.meta.url);
const fluentLogger = require('fluent-logger') as {
  createFluentSender: (
    tag: string,
    options: Record<string, unknown>,
  ) => {
    emit: (label: string, record: object, time: unknown, callback: (err?: Error) => void) => void;
    end: (label?: string, data?: object, callback?: () => void) => void;
  };
  EventTime: new (epoch: number, nano: number) => unknown;
};

const receiver = receivers();

function records(n: number, seed: number) {
  return [...sampleRecords(n, { seed, start: 1632312000 })].map((record) => {
    const t = parseTimestamp(record.Timestamp as string);
    if (!t.ok) throw new Error('bad sample');
    return { record, seconds: t.seconds, nanoseconds: t.nanoseconds };
  });
}

/** Ships three sample records (of `seed`) to `r` through the CLI, from stdin. */
function shipThree(r: RunningReceiver, seed: number, args: string[] = []) {
  return runCli(['--port', String(r.port), ...args, '-'], {
    input: records(3, seed)
      .map((s) => `${JSON.stringify(s.record)}\n`)
      .join(''),
  });
}

const idsOfThree = (seed: number) => records(3, seed).map((s) => s.record.RequestID);

/** The RequestIDs in a file `receive --out` wrote, in order. */
function idsIn(path: string): string[] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { record: { RequestID: string } }).record.RequestID);
}

async function waitFor(r: RunningReceiver, n: number): Promise<void> {
  for (let i = 0; i < 500 && r.events().length < n; i++) await new Promise((res) => setTimeout(res, 10));
}

/** The receiver logs from another process: wait until its line has arrived (or 5 s). */
async function waitForLog(r: RunningReceiver, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 500 && !pattern.test(r.stderr()); i++) await new Promise((res) => setTimeout(res, 10));
}

function assertReceived(r: RunningReceiver, sent: ReturnType<typeof records>, tag: string): void {
  const events = r.events();
  assert.equal(events.length, sent.length, r.stderr());
  const byId = new Map(events.map((e) => [e.record.RequestID as string, e]));
  for (const s of sent) {
    const e = byId.get(s.record.RequestID as string);
    assert.ok(e, `record ${s.record.RequestID as string} arrived`);
    assert.equal(e.tag, tag);
    assert.equal(e.time, formatTimestamp(s.seconds, s.nanoseconds), 'nanosecond EventTime intact');
    assert.deepEqual(e.record, s.record);
  }
}

async function viaFluentClient(port: number, mode: EventModes, sent: ReturnType<typeof records>, extra: Record<string, unknown> = {}) {
  const client = new FluentClient('deploy_audit', {
    socket: { host: '127.0.0.1', port, disableReconnect: true, ...(extra.socket as object) },
    eventMode: mode,
    ack: { ackTimeout: 5000 },
    ...(extra.security ? { security: extra.security as never } : {}),
  });
  try {
    await client.connect(); // with disableReconnect the client does not connect by itself
    await Promise.all(sent.map((s) => client.emit('seldon', s.record, new EventTime(s.seconds, s.nanoseconds))));
  } finally {
    await client.disconnect();
  }
}

/** The receiver goes on after closing a bad client: a good one's records all arrive. */
async function assertStillServes(r: RunningReceiver, seed: number): Promise<void> {
  const sent = records(5, seed);
  await viaFluentClient(r.port, 'PackedForward', sent);
  await waitFor(r, sent.length);
  assertReceived(r, sent, 'deploy_audit.seldon');
}

/** A plain client that sends `bytes` and is closed by the receiver. */
async function sentAndClosed(port: number, bytes: string | Buffer): Promise<void> {
  const client = connect(port, '127.0.0.1');
  client.on('error', () => {});
  await once(client, 'connect');
  client.write(bytes);
  await once(client, 'close');
}

describe('@fluent-org/logger FluentClient → audit-ship receive', () => {
  for (const mode of ['Message', 'Forward', 'PackedForward', 'CompressedPackedForward'] as const) {
    it(`receives ${mode} mode with acks`, async () => {
      const r = await receiver();
      const sent = records(60, 1);
      await viaFluentClient(r.port, mode, sent);
      await waitFor(r, sent.length);
      assertReceived(r, sent, 'deploy_audit.seldon');
    });
  }

  /** @fluent-org/logger's client authenticates as `username` and delivers 20 records. */
  async function deliversAs(r: RunningReceiver, username: string, password: string, seed: number): Promise<void> {
    const sent = records(20, seed);
    await viaFluentClient(r.port, 'PackedForward', sent, {
      security: { clientHostname: 'client-1', sharedKey: 'k3y', username, password },
    });
    await waitFor(r, sent.length);
    assertReceived(r, sent, 'deploy_audit.seldon');
  }

  it('completes the shared-key and user-auth handshake', async () => {
    await deliversAs(await receiver(['--shared-key', 'k3y', '--user', 'alice:wonderland']), 'alice', 'wonderland', 2);
  });

  it('takes its users from --users-file (or AUDIT_SHIP_USERS_FILE), keeping passwords off the command line', async () => {
    const file = join(tempDir(), 'users');
    writeFileSync(file, '# users allowed in\nbob:builder\n\nalice:won:derland\n', { mode: 0o600 });
    await deliversAs(await receiver(['--shared-key', 'k3y'], { AUDIT_SHIP_USERS_FILE: file }), 'alice', 'won:derland', 4);
  });

  it('never echoes a malformed --user value, which may hold a password', async () => {
    const res = await runCli(['receive', '--port', '0', '--shared-key', 'k', '--user', 'audit=S3cretPW']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--user #1 takes NAME:PASSWORD/);
    assert.doesNotMatch(res.stderr, /S3cretPW/);
    const file = join(tempDir(), 'users');
    writeFileSync(file, 'ok:fine\nbad=S3cretPW\n');
    const fromFile = await runCli(['receive', '--port', '0', '--shared-key', 'k', '--users-file', file]);
    assert.equal(fromFile.code, 2);
    assert.match(fromFile.stderr, /--users-file .* line 2 takes NAME:PASSWORD/);
    assert.doesNotMatch(fromFile.stderr, /S3cretPW/);
  });

  it('serves TLS', async () => {
    const r = await receiver(['--tls-cert', fixture('tls/server.pem'), '--tls-key', fixture('tls/server.key')]);
    const sent = records(20, 3);
    await viaFluentClient(r.port, 'PackedForward', sent, { socket: { tls: { ca: tlsFiles.ca(), servername: 'localhost' } } });
    await waitFor(r, sent.length);
    assertReceived(r, sent, 'deploy_audit.seldon');
  });
});

function viaFluentLogger(port: number, options: Record<string, unknown>, sent: ReturnType<typeof records>): Promise<void> {
  const sender = fluentLogger.createFluentSender('deploy_audit', {
    host: '127.0.0.1',
    port,
    timeout: 5,
    reconnectInterval: 100,
    requireAckResponse: true,
    ...options,
  });
  return new Promise((resolve, reject) => {
    let left = sent.length;
    for (const s of sent) {
      sender.emit('seldon', s.record, new fluentLogger.EventTime(s.seconds, s.nanoseconds), (err) => {
        if (err) return reject(err);
        if (--left === 0) sender.end(undefined, undefined, () => resolve());
      });
    }
  });
}

describe('fluent-logger → audit-ship receive', () => {
  for (const eventMode of ['Message', 'PackedForward', 'CompressedPackedForward']) {
    it(`receives ${eventMode} mode with acks`, async () => {
      const r = await receiver();
      const sent = records(40, 4);
      await viaFluentLogger(r.port, { eventMode }, sent);
      await waitFor(r, sent.length);
      assertReceived(r, sent, 'deploy_audit.seldon');
    });
  }

  it('completes the shared-key handshake', async () => {
    const r = await receiver(['--shared-key', 'k3y']);
    const sent = records(10, 5);
    await viaFluentLogger(r.port, { security: { clientHostname: 'client-2', sharedKey: 'k3y' } }, sent);
    await waitFor(r, sent.length);
    assertReceived(r, sent, 'deploy_audit.seldon');
  });
});

describe('audit-ship receive robustness', () => {
  it('closes a connection that sends a bad frame, logs why, and keeps serving', async () => {
    const r = await receiver();
    await sentAndClosed(r.port, Buffer.from([0x93, 0xa1, 0x74, 0x2a, 0x2a])); // [tag, 42, 42]: a time with a non-map record
    await waitForLog(r, /closed/);
    assert.match(r.stderr(), /closed 127\.0\.0\.1:\d+: event record must be a map/);
    await assertStillServes(r, 6);
  });

  it('names a TLS client on its plain port, and keeps serving', async () => {
    const r = await receiver();
    const client = tlsConnect({ host: '127.0.0.1', port: r.port, ca: tlsFiles.ca(), servername: 'localhost' });
    const [error] = (await once(client, 'error')) as [Error];
    assert.match(error.message, /before secure TLS connection was established/);
    await waitForLog(r, /TLS handshake/);
    assert.match(
      r.stderr(),
      /closed 127\.0\.0\.1:\d+: a TLS handshake on a plain TCP port: the client connects with TLS \(serve it with --tls-cert and --tls-key/,
    );
    await assertStillServes(r, 8);
  });

  it('names an HTTP client and a JSON one on its port (text, not msgpack), and keeps serving', async () => {
    const r = await receiver();
    await sentAndClosed(r.port, 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await waitForLog(r, /closed/);
    assert.match(
      r.stderr(),
      /closed 127\.0\.0\.1:\d+: the client sent HTTP \("GET \/metrics HTTP\/1\.1"\), not the Forward protocol: a client of another protocol, or pointed at the wrong port\n/,
    );
    // in_forward takes the protocol's messages as JSON too; receive does not.
    await sentAndClosed(r.port, '["deploy_audit.seldon",1632312000,{"Host":"seldon.example.com"}]');
    await waitForLog(r, /sent JSON/);
    assert.match(
      r.stderr(),
      /closed 127\.0\.0\.1:\d+: the client sent JSON \("\["deploy_audit\.seldon",1632312000,\{"Host":"seldon\.example\.com"\}\]"\): receive reads the Forward protocol in msgpack only\n/,
    );
    await assertStillServes(r, 9);
  });

  it('serving TLS, names a client without TLS', async () => {
    const r = await receiver(['--tls-cert', fixture('tls/server.pem'), '--tls-key', fixture('tls/server.key')]);
    const plain = connect(r.port, '127.0.0.1');
    plain.on('error', () => {});
    await once(plain, 'connect');
    plain.write(Buffer.from([0x93, 0xa1, 0x74, 0x2a, 0x2a]));
    await once(plain, 'close');
    await waitForLog(r, /closed/);
    assert.match(r.stderr(), /closed 127\.0\.0\.1:\d+: TLS: wrong version number; a client without TLS \(no --tls\) does that\n/);
  });

  it('rejects a wrong shared key with a PONG that says so', async () => {
    const r = await receiver(['--shared-key', 'k3y']);
    // FluentClient's connect() never settles after a rejected PONG, so this side uses audit-ship's sender.
    const sender = new Sender(senderOptions(r.port, { security: { sharedKey: 'wrong', selfHostname: 'client-1' } }));
    await assert.rejects(sender.start(), (e: unknown) => e instanceof AuthError && /shared_key mismatch/.test(e.message));
    await sender.close(0);
    await waitForLog(r, /shared_key mismatch/);
    assert.match(r.stderr(), /shared_key mismatch/);
    assert.equal(r.events().length, 0);
  });

  it('lets a shared-key-only client in although HELO carries an auth salt, as in_forward does', async () => {
    const r = await receiver(['--shared-key', 'k3y']);
    const sender = new Sender(senderOptions(r.port, { security: { sharedKey: 'k3y', selfHostname: 'client-1' } }));
    const { chunks } = chunksOf(10, 10);
    await sender.send(chunks[0]!);
    await sender.close(0);
    await waitFor(r, 10);
    assert.equal(r.events().length, 10);
  });

  it('names the missing credentials when user auth is required', async () => {
    const r = await receiver(['--shared-key', 'k3y', '--user', 'alice:wonderland']);
    const sender = new Sender(senderOptions(r.port, { security: { sharedKey: 'k3y', selfHostname: 'client-1' } }));
    await assert.rejects(
      sender.start(),
      (e: unknown) => e instanceof AuthError && /username\/password mismatch \(set --username and --password\)/.test(e.message),
    );
    await sender.close(0);
  });

  it('answers UDP heartbeats on its port', async () => {
    const r = await receiver();
    const udp = createSocket('udp4');
    udp.send(Buffer.alloc(0), r.port, '127.0.0.1');
    const [reply] = (await once(udp, 'message')) as [Buffer];
    udp.close();
    assert.deepEqual([...reply], [0]);
  });

  // `--out -` once made a file named `-`.
  it('--out - writes the events to stdout', async () => {
    const dir = tempDir();
    const r = await startReceiveCli([], {}, { stdout: true, cwd: dir });
    const input = records(3, 77)
      .map((s) => `${JSON.stringify(s.record)}\n`)
      .join('');
    const shipped = await runCli(['--port', String(r.port), '-'], { input });
    assert.equal(await r.stop(), 0);
    assert.equal(shipped.code, 0, shipped.stderr);
    assert.deepEqual(
      r.requestIds(),
      records(3, 77).map((s) => s.record.RequestID),
    );
    assert.equal(existsSync(join(dir, '-')), false, 'no file named -');
  });

  // `receive | head`: it went on listening for ever, closing each connection unacked.
  it('--out - stops once stdout is closed, having acked nothing it could not write, and exits 0', async () => {
    const r = await startReceiveCli([], {}, { stdout: true });
    r.child.stdout!.destroy();
    const shipped = await shipThree(r, 83, ['--retry-timeout', '2s']);
    // Bounded: a receiver that goes on listening fails here, not at the runner's timeout.
    for (let i = 0; i < 300 && r.child.exitCode === null; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(r.child.exitCode, 0, r.stderr());
    assert.match(r.stderr(), /audit-ship receive: stdout was closed: stopped \(what it could not write was not acked\)/);
    assert.equal(shipped.code, 3, shipped.stderr);
    assert.match(shipped.stderr, /3 records sent, 0 acked/);
  });

  // `rm events.jsonl` between two runs of a demo: the events of the second went into the unlinked
  // file, acked, and were gone.
  it('--out deleted while in use is made again, with the events written after', async () => {
    const out = join(tempDir(), 'events.jsonl');
    const r = await startReceiveCli(['--out', out]);
    assert.equal((await shipThree(r, 78)).code, 0);
    unlinkSync(out);
    const second = await shipThree(r, 79);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(await r.stop(), 0);
    assert.deepEqual(idsIn(out), idsOfThree(79));
    assert.match(r.stderr(), /--out \S+events\.jsonl was deleted while in use; made again, and events go on into it/);
  });

  it('--out moved away while in use (rotated): events go on into the path, the chunk written then in both', async () => {
    const out = join(tempDir(), 'events.jsonl');
    const r = await startReceiveCli(['--out', out]);
    assert.equal((await shipThree(r, 80)).code, 0);
    renameSync(out, `${out}.1`);
    assert.equal((await shipThree(r, 81)).code, 0);
    assert.equal((await shipThree(r, 82)).code, 0);
    assert.equal(await r.stop(), 0);
    assert.deepEqual(idsIn(`${out}.1`), [...idsOfThree(80), ...idsOfThree(81)]);
    assert.deepEqual(idsIn(out), [...idsOfThree(81), ...idsOfThree(82)]);
    assert.match(r.stderr(), /--out \S+events\.jsonl was moved away while in use \(rotated\?\); events go on into/);
  });

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`exits 0 on ${signal}`, async () => {
      const r = await startReceiveCli();
      assert.equal(await r.stop(signal), 0);
    });
  }

  it('stops on SIGTERM with a TLS client still shaking hands, which held it open', async () => {
    // A TLS connection reaches the receiver only once its handshake is done: one under way at the
    // signal finished it after, and a shipper keeps its connection for ever. A client that connects
    // and says nothing stands for it (its handshake would end only at TLS's two-minute timeout).
    const r = await startReceiveCli(['--tls-cert', fixture('tls/server.pem'), '--tls-key', fixture('tls/server.key')]);
    const idle = connect(r.port, '127.0.0.1');
    idle.on('error', () => {});
    await once(idle, 'connect');
    const stopped = r.stop('SIGTERM');
    const outcome = await Promise.race([stopped, sleep(20_000, 'still running 20 s after SIGTERM', { ref: false })]);
    r.child.kill('SIGKILL');
    idle.destroy();
    assert.equal(outcome, 0, r.stderr());
  });
});

describe("Fluent Bit's event form → audit-ship receive", () => {
  it('reads [[time, metadata], record] entries, keeping the metadata when there is any', async () => {
    const r = await receiver();
    const sent = records(2, 9);
    const time = (s: (typeof sent)[number]) => {
      const bytes = Buffer.alloc(8);
      bytes.writeUInt32BE(s.seconds, 0);
      bytes.writeUInt32BE(s.nanoseconds, 4);
      return new ExtData(0, bytes);
    };
    const metadata = [{}, { otlp: { severity_number: 9 } }];
    const entries = sent.map((s, i) => [[time(s), metadata[i]], s.record]);
    const client = connect(r.port, '127.0.0.1');
    client.on('error', () => {});
    await once(client, 'connect');
    client.write(encode(['tail.0', entries, { size: 2, chunk: 'ZmJpdA==' }]));
    const reply = (await Promise.race([once(client, 'data'), once(client, 'close').then(() => null)])) as [Buffer] | null;
    assert.ok(reply, `closed with no ack: ${r.stderr()}`);
    assert.deepEqual(decode(reply[0]), { ack: 'ZmJpdA==' });
    client.destroy();
    assertReceived(r, sent, 'tail.0');
    assert.deepEqual(
      r.events().map((e) => (e as { metadata?: unknown }).metadata),
      [undefined, { otlp: { severity_number: 9 } }],
    );
  });
});

describe("Fluentd's out_forward → audit-ship receive", () => {
  /** A PackedForward frame as out_forward writes it: the entries behind a str32 header, the chunk id in base64 with its newline. */
  function outForwardFrame(tag: string, entries: Buffer, compressed: boolean): Buffer {
    const head = Buffer.alloc(5);
    head[0] = 0xdb;
    head.writeUInt32BE(entries.length, 1);
    const option = { size: 2, chunk: 'AAECAwQFBgcICQoLDA0ODw==\n', ...(compressed ? { compressed: 'gzip' } : {}) };
    return Buffer.concat([Buffer.from([0x93]), encode(tag), head, entries, encode(option)]);
  }

  for (const compressed of [false, true]) {
    it(`reads PackedForward entries sent as a str${compressed ? ', gzip' : ''}`, async () => {
      const r = await receiver();
      const sent = records(2, compressed ? 11 : 10);
      const time = (s: (typeof sent)[number]) => {
        const bytes = Buffer.alloc(8);
        bytes.writeUInt32BE(s.seconds, 0);
        bytes.writeUInt32BE(s.nanoseconds, 4);
        return new ExtData(0, bytes);
      };
      const stream = Buffer.concat(sent.map((s) => encode([time(s), s.record])));
      const client = connect(r.port, '127.0.0.1');
      client.on('error', () => {});
      await once(client, 'connect');
      client.write(outForwardFrame('deploy_audit.fluentd', compressed ? gzipSync(stream) : stream, compressed));
      const reply = (await Promise.race([once(client, 'data'), once(client, 'close').then(() => null)])) as [Buffer] | null;
      assert.ok(reply, `closed with no ack: ${r.stderr()}`);
      assert.deepEqual(decode(reply[0]), { ack: 'AAECAwQFBgcICQoLDA0ODw==\n' });
      client.destroy();
      assertReceived(r, sent, 'deploy_audit.fluentd');
    });
  }
});
