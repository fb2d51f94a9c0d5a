/**
 * `audit-ship receive`: a Fluentd-compatible forward receiver for local testing and demos.
 * Writes one JSON line per event: {"tag", "time" (RFC 3339, 9 fractional digits), "record"}.
 */
import { AppendFile } from '../append-file.js';
import { describeSystemError, ListenError, UsageError } from '../errors.js';
import { Receiver } from '../forward/receiver.js';
import type { DecodedTransport } from '../forward/decode-transport.js';
import { formatTimestamp } from '../schema/timestamp.js';
import { BrokenPipeError, TextOutput } from './output.js';
import { STOP_SIGNALS } from './process-guards.js';
import type { TlsOptions } from 'node:tls';
import { readTlsFiles } from './tls-files.js';
import { readSmallFile } from './small-file.js';

export interface ReceiveOptions {
  port: number;
  bind: string;
  out?: string;
  sharedKey?: string;
  selfHostname: string;
  user: string[];
  usersFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
}

/** msgpack bin values have no JSON form; Fluentd treats them as strings, and so do we. */
function binAsText(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : value;
}

/** NAME:PASSWORD entries; an entry is never echoed in an error, since it may hold a password. */
function parseUsers(entries: { text: string; where: string }[]): Record<string, string> {
  const users: Record<string, string> = {};
  for (const { text, where } of entries) {
    const colon = text.indexOf(':');
    if (colon <= 0)
      throw new UsageError(
        `${where} takes NAME:PASSWORD, with a name before the first ':' (the value is not shown: it may hold a password)`,
      );
    users[text.slice(0, colon)] = text.slice(colon + 1);
  }
  return users;
}

/** --user values and the lines of --users-file, each with where it came from. */
function userEntries(options: ReceiveOptions): { text: string; where: string }[] {
  const entries = options.user.map((text, i) => ({ text, where: `--user #${i + 1}` }));
  if (options.usersFile === undefined) return entries;
  const text = readSmallFile('--users-file', options.usersFile, 'a users file').toString('utf8');
  text.split('\n').forEach((line, i) => {
    const entry = line.replace(/\r$/, '');
    if (entry.trim() !== '' && !entry.trimStart().startsWith('#'))
      entries.push({ text: entry, where: `--users-file ${options.usersFile} line ${i + 1}` });
  });
  return entries;
}

function describeMode(options: ReceiveOptions, users: Record<string, string>): string {
  const parts = [options.tlsClientCa ? 'tls, client certificates' : options.tlsCert ? 'tls' : 'tcp'];
  if (options.sharedKey !== undefined) parts.push('shared key');
  if (Object.keys(users).length > 0) parts.push('user auth');
  return parts.join(', ');
}

interface Sink {
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Where events go: --out, appended whole or not at all (a full disk fails the chunk, which is
 * then not acked, and the receiver goes on), or stdout with backpressure. Stdout closed by its
 * reader (`receive | head`) is closed for good: `stdoutGone` is called, and the receiver stops, as
 * any filter does, where it went on listening and closing every connection unacked.
 */
function openSink(out: string | undefined, stdoutGone: () => void): Sink {
  // `-` is stdout, as for every other file operand.
  if (out === undefined || out === '-') {
    const text = new TextOutput(process.stdout);
    return {
      write: async (t) => {
        try {
          await text.write(t);
          await text.flush();
        } catch (error) {
          if (error instanceof BrokenPipeError) stdoutGone();
          throw error;
        }
      },
      close: () => text.flush(),
    };
  }
  const file = AppendFile.open(out, {
    option: '--out',
    mode: 0o644,
    writeError: (reason) => `cannot write --out ${out}: ${reason}; the chunk is not acked`,
  });
  // Deleted while in use (`rm` between two runs of a demo): events appended to the unlinked file
  // would be acked and gone. It is made again, with the chunk just written; moved away (rotated),
  // events go on into the path, the chunk written as it moved in both files.
  file.onRemade((gone) =>
    process.stderr.write(
      gone === 'deleted'
        ? `audit-ship receive: --out ${out} was deleted while in use; made again, and events go on into it\n`
        : `audit-ship receive: --out ${out} was moved away while in use (rotated?); events go on into ${out} (the chunk being written then is in both files)\n`,
    ),
  );
  return {
    write: async (t) => file.append(t),
    close: async () => file.close(),
  };
}

/** The certificate served and, with --tls-client-ca, the CA a client's certificate must be signed by. */
function serverTls(options: ReceiveOptions): TlsOptions {
  const { cert, key, ca } = readTlsFiles(
    { cert: options.tlsCert, key: options.tlsKey, ca: options.tlsClientCa },
    { ca: '--tls-client-ca' },
  );
  return ca ? { cert, key, ca, requestCert: true, rejectUnauthorized: true } : { cert, key };
}

export async function receive(options: ReceiveOptions): Promise<void> {
  const users = parseUsers(userEntries(options));
  if (Object.keys(users).length > 0 && options.sharedKey === undefined) {
    throw new UsageError('--user and --users-file need --shared-key: user authentication is part of the shared-key handshake');
  }
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together');
  }
  if (options.tlsClientCa !== undefined && options.tlsCert === undefined) {
    throw new UsageError('--tls-client-ca needs --tls-cert and --tls-key: client certificates are asked for in the TLS handshake');
  }
  let stdoutGone = () => {};
  const outputGone = new Promise<void>((resolve) => (stdoutGone = resolve));
  const sink = openSink(options.out, stdoutGone);
  const write = async (message: DecodedTransport) => {
    let text = '';
    for (const { time, record, metadata } of message.events) {
      const event = { tag: message.tag, time: formatTimestamp(time.seconds, time.nanoseconds), record, metadata };
      text += `${JSON.stringify(event, binAsText)}\n`;
    }
    // A chunk is acked only once all of it is written: a failed write closes its connection unacked.
    await sink.write(text);
  };
  const receiver = new Receiver({
    host: options.bind,
    port: options.port,
    security: options.sharedKey === undefined ? null : { sharedKey: options.sharedKey, serverHostname: options.selfHostname, users },
    tls: options.tlsCert ? serverTls(options) : null,
    onTransport: write,
  });
  receiver.on('connection-error', (remote, reason) => process.stderr.write(`audit-ship receive: closed ${remote}: ${reason}\n`));
  // Handlers first: a signal that arrives as soon as "listening" is printed must still stop cleanly.
  // A closing terminal (SIGHUP) too: the events written are then whole, and the connections closed.
  const stopped = new Promise<void>((resolve) => {
    for (const signal of STOP_SIGNALS) process.once(signal, () => resolve());
  });
  const address = await receiver.listen().catch((error: unknown) => {
    throw new ListenError(`cannot listen on ${options.bind}:${options.port}: ${describeSystemError(error)}`, { cause: error });
  });
  process.stderr.write(`audit-ship receive: listening on ${address.address}:${address.port} (${describeMode(options, users)})\n`);
  const gone = await Promise.race([stopped.then(() => false), outputGone.then(() => true)]);
  await receiver.close();
  await sink.close();
  if (gone) process.stderr.write('audit-ship receive: stdout was closed: stopped (what it could not write was not acked)\n');
}
