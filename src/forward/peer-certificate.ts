/**
 * When the certificate chain a server presents over TLS expires: the first of its certificates to
 * do so, up to the CA that verified it. A Fluentd forward input reads its certificate once, at
 * start: a Secret renewed under it leaves the old one served until Fluentd restarts, and only the
 * clients see what is served.
 */
import type { DetailedPeerCertificate, PeerCertificate } from 'node:tls';

/** In seconds since the epoch, or null when no certificate came (getPeerCertificate gives `{}`). */
export function chainExpiry(certificate: PeerCertificate | DetailedPeerCertificate | Record<string, never>): number | null {
  let first = Infinity;
  const seen = new Set<object>();
  // A self-signed root is its own issuer; a chain not asked for in detail has no issuerCertificate.
  for (let c: Partial<DetailedPeerCertificate> | undefined = certificate; c?.valid_to && !seen.has(c); c = c.issuerCertificate) {
    seen.add(c);
    first = Math.min(first, Date.parse(c.valid_to) / 1000);
  }
  return Number.isFinite(first) ? first : null;
}
