import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import { describe as describeEndpoint } from '../src/forward/endpoint.js';
import { ipVersion } from '../src/ip.js';

const HOSTS = [
  '127.0.0.1',
  '0.0.0.0',
  '256.1.1.1',
  '01.2.3.4',
  '::1',
  '::',
  'fe80::1%eth0',
  '::ffff:10.0.0.1',
  '2001:db8::8a2e:370:7334',
  '2001:db8:::1',
  '1:2:3:4:5:6:7:8:9',
  'localhost',
  'fluentd.logging.svc.cluster.local',
  'a:b',
  ':',
  '',
  '[::1]',
];

describe('ipVersion', () => {
  it('agrees with net.isIP on addresses, names and near misses', () => {
    for (const host of HOSTS) assert.equal(ipVersion(host), isIP(host), host);
  });

  it('brackets an IPv6 address, and only that, in messages', () => {
    assert.equal(describeEndpoint({ host: '::1', port: 24224 }), '[::1]:24224');
    assert.equal(describeEndpoint({ host: '127.0.0.1', port: 24224 }), '127.0.0.1:24224');
    assert.equal(describeEndpoint({ host: 'fluentd', port: 24224, address: 'fe80::1' }), 'fluentd@[fe80::1]:24224');
  });
});
