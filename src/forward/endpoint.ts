/** A forward server as the user named it, and the one way it is written in every message. */
import { ipVersion } from '../ip.js';

export interface Endpoint {
  host: string;
  port: number;
  /** The address `host` resolved to, when it is a name: what is connected to. */
  address?: string;
}

/** `host:port`, or `name@address:port` for one of the addresses a name resolved to. */
export function describe(endpoint: Endpoint): string {
  const { host, port, address } = endpoint;
  const bracket = (h: string) => (ipVersion(h) === 6 ? `[${h}]` : h);
  return address === undefined || address === host ? `${bracket(host)}:${port}` : `${host}@${bracket(address)}:${port}`;
}
