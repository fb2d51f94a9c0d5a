import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import {
  DEFAULT_COMPRESS_LEVEL,
  forwardOptions,
  parseEndpoint,
  senderOptionsFrom,
  type ForwardCliOptions,
} from '../../src/cli/forward-options.js';
import { UsageError } from '../../src/errors.js';
import { fixture } from '../helpers/paths.js';

const base: ForwardCliOptions = {
  host: ['127.0.0.1'],
  port: 24224,
  tag: 'deploy_audit.x',
  selfHostname: 'h',
  tls: false,
  tlsInsecure: false,
  connectTimeout: 1000,
  ackTimeout: 1000,
  window: 4,
  retryTimeout: 0,
  dnsRefresh: 30_000,
  chunkRecords: 10,
  chunkBytes: 4096,
  compress: 'none',
};

describe('forward options', () => {
  it('parses host, host:port, [v6]:port and bare IPv6', () => {
    assert.deepEqual(parseEndpoint('fluentd', 24224), { host: 'fluentd', port: 24224 });
    assert.deepEqual(parseEndpoint('fluentd:24225', 24224), { host: 'fluentd', port: 24225 });
    assert.deepEqual(parseEndpoint('[::1]:24226', 24224), { host: '::1', port: 24226 });
    assert.deepEqual(parseEndpoint('[::1]', 24224), { host: '::1', port: 24224 });
    assert.deepEqual(parseEndpoint('2001:db8::1', 24224), { host: '2001:db8::1', port: 24224 });
    assert.throws(() => parseEndpoint('fluentd:99999', 24224), UsageError);
  });

  it('names the host:port to give for a URL', () => {
    assert.throws(
      () => parseEndpoint('tcp://fluentd:24224', 24224),
      /^UsageError: --host tcp:\/\/fluentd:24224: give host\[:port\] without a scheme \(--host fluentd:24224\)$/,
    );
    assert.throws(
      () => parseEndpoint('tls://fluentd:24224/', 24224, '--standby'),
      /without a scheme \(--standby fluentd:24224, with --tls\)$/,
    );
    assert.throws(() => parseEndpoint('http://[::1]:24224', 24224), /without a scheme \(--host \[::1\]:24224\)$/);
  });

  it('reads a weight after *, for --host and --standby, and names the option a bad one came with', () => {
    const o = senderOptionsFrom({ ...base, host: ['a:1*3', '[::1]:5*2', 'b'], standby: ['c*1', '10.0.0.9'], port: 2 });
    assert.deepEqual(o.endpoints, [
      { host: 'a', port: 1, weight: 3 },
      { host: '::1', port: 5, weight: 2 },
      { host: 'b', port: 2 },
    ]);
    assert.deepEqual(o.standby, [
      { host: 'c', port: 2, weight: 1 },
      { host: '10.0.0.9', port: 2 },
    ]);
    assert.equal(o.dnsRefreshMs, 30_000);
    for (const bad of ['a*0', 'a*', 'a*1.5', 'a*1001', 'a*x', 'a**2']) {
      assert.throws(() => senderOptionsFrom({ ...base, host: [bad] }), /--host .*(weight after \*|not a host name)/, bad);
    }
    assert.throws(() => senderOptionsFrom({ ...base, standby: ['b:0'] }), /^UsageError: --standby b:0: the port must be 1-65535/);
  });

  it('keeps several hosts in order', () => {
    const o = senderOptionsFrom({ ...base, host: ['a:1', 'b', 'c:3'], port: 2 });
    assert.deepEqual(o.endpoints, [
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
      { host: 'c', port: 3 },
    ]);
  });

  it('replaces the default host with the hosts given, instead of trying the default first', () => {
    const hosts = (argv: string[]) => {
      const command = new Command().exitOverride();
      for (const option of forwardOptions()) command.addOption(option);
      return command.parse(argv, { from: 'user' }).opts<ForwardCliOptions>().host;
    };
    assert.deepEqual(hosts([]), ['127.0.0.1']);
    assert.deepEqual(hosts(['--host', 'fluentd']), ['fluentd']);
    assert.deepEqual(hosts(['--host', 'a,b', '--host', 'c']), ['a', 'b', 'c']);
  });

  it('takes a gzip level from 1 to 9, 6 when none is given', () => {
    const level = (argv: string[]) => {
      const command = new Command().exitOverride().configureOutput({ writeErr: () => {} });
      for (const option of forwardOptions()) command.addOption(option);
      return command.parse(argv, { from: 'user' }).opts<ForwardCliOptions>().compressLevel;
    };
    assert.equal(level([]), undefined, 'none given: the pipeline uses the default');
    assert.equal(DEFAULT_COMPRESS_LEVEL, 6);
    assert.equal(level(['--compress-level', '1']), 1);
    assert.throws(() => level(['--compress-level', '0']));
    assert.throws(() => level(['--compress-level', '10']));
  });

  /** The options as commander gives them for `argv` (its implies and conflicts included), into sender options. */
  const fromArgv = (argv: string[]) => {
    const command = new Command().exitOverride().configureOutput({ writeErr: () => {} });
    for (const option of forwardOptions()) command.addOption(option);
    return senderOptionsFrom(command.parse(argv, { from: 'user' }).opts<ForwardCliOptions>());
  };
  /** The TLS options a new connection gets (the files are read again for each). */
  const tlsOf = (argv: string[]) => {
    const { tls } = fromArgv(argv);
    return typeof tls === 'function' ? tls() : tls;
  };

  it('turns on TLS with any TLS option and verifies unless --tls-insecure', () => {
    assert.equal(tlsOf([]), null);
    const tls = tlsOf(['--tls-ca', fixture('tls/ca.pem'), '--tls-servername', 'localhost'])!;
    assert.equal(tls.rejectUnauthorized, true);
    assert.equal(tls.servername, 'localhost');
    assert.ok(Buffer.isBuffer(tls.ca));
    assert.equal(tlsOf(['--tls-insecure'])!.rejectUnauthorized, false);
    assert.ok(tlsOf(['--tls-servername', 'fluentd']));
  });

  it('rejects incomplete security and TLS settings', () => {
    assert.throws(() => senderOptionsFrom({ ...base, username: 'alice', password: 'x' }), /need --shared-key/);
    assert.throws(() => senderOptionsFrom({ ...base, sharedKey: 'k', password: 'x' }), /--password needs --username/);
    assert.throws(() => senderOptionsFrom({ ...base, sharedKey: 'k', username: 'alice' }), /--username needs --password/);
    assert.equal(senderOptionsFrom({ ...base, sharedKey: 'k', username: 'alice', password: '' }).security!.password, '');
    assert.throws(() => fromArgv(['--tls-cert', 'c.pem']), /go together/);
    assert.throws(() => fromArgv(['--tls-key', 'k.pem']), /go together/);
    assert.throws(() => fromArgv(['--tls-ca', '/no/such/ca.pem']), /--tls-ca \/no\/such\/ca\.pem: no such file/);
    assert.throws(() => fromArgv(['--tls-insecure', '--tls-ca', fixture('tls/ca.pem')]), /cannot be used with/);
  });

  // The sender kept the first and dropped the rest in silence: its weight, or its standby role.
  it('refuses a server given twice, however it is spelt, or as both --host and --standby', () => {
    for (const [host, standby, said] of [
      [['agg:24224*1', 'AGG*5'], [], /^--host agg:24224 is given twice: give each server once \(with \*WEIGHT for a larger share\)$/],
      [['[::1]:5', '[0:0::1]:5'], [], /^--host \[::1\]:5 is given twice/],
      [['agg'], ['agg:24224'], /^--standby agg:24224 is also a --host: a server is either one or the other$/],
      [[], ['b', 'b'], /^--standby b:24224 is given twice/],
    ] as const) {
      assert.throws(
        () => senderOptionsFrom({ ...base, host: ['a', ...host], standby: [...standby] }),
        (e: unknown) => e instanceof UsageError && said.test(e.message),
      );
    }
    // The same address on other ports, and other names for one address, are other servers.
    const other = senderOptionsFrom({ ...base, host: ['agg:1', 'agg:2', '127.0.0.1', 'localhost'], standby: ['agg:3'] });
    assert.equal(other.endpoints.length + other.standby!.length, 5);
  });
});
