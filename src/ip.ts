import { isIPv4, isIPv6 } from 'node:net';

/**
 * `net.isIP`, without node's IPv6 expression for what has no colon: its first use compiles the
 * expression, about 8 ms of CPU, which every start paid for a host name (and for the bracketing of
 * `127.0.0.1` in a message) though only an IPv6 address can have a colon. For the forward options,
 * the connections and the schema's SourceAddress check alike.
 */
export function ipVersion(host: string): 0 | 4 | 6 {
  if (isIPv4(host)) return 4;
  return host.includes(':') && isIPv6(host) ? 6 : 0;
}
