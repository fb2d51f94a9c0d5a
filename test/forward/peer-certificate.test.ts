/** When a presented certificate chain expires, from what node:tls gives for it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DetailedPeerCertificate } from 'node:tls';
import { chainExpiry } from '../../src/forward/peer-certificate.js';

/** The fields chainExpiry reads, as getPeerCertificate(true) gives them. */
function certificate(validTo: string, issuer?: DetailedPeerCertificate): DetailedPeerCertificate {
  const c = { valid_to: validTo } as DetailedPeerCertificate;
  c.issuerCertificate = issuer ?? c; // a root is its own issuer
  return c;
}

describe('chainExpiry', () => {
  it('gives the first certificate of the chain to expire, whichever link it is', () => {
    const root = certificate('Jan  1 00:00:00 2040 GMT');
    const intermediate = certificate('Mar  5 12:00:00 2031 GMT', root);
    const leaf = certificate('Jun 30 23:59:59 2032 GMT', intermediate);
    assert.equal(chainExpiry(leaf), Date.UTC(2031, 2, 5, 12) / 1000);
    assert.equal(chainExpiry(root), Date.UTC(2040, 0, 1) / 1000, 'a self-signed certificate ends the walk');
  });

  it('gives null when no certificate came', () => {
    assert.equal(chainExpiry({}), null);
  });
});
