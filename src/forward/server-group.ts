/**
 * One `--host` or `--standby` value and the servers it stands for. An address is one server; a
 * name is one server per address it resolves to (a headless Service lists every aggregator pod),
 * looked up again every `--dns-refresh` so that added pods get chunks and removed ones are drained.
 * A failed lookup keeps the servers already known: a DNS hiccup must not empty the pool.
 */
import { Backoff, sleep, type BackoffOptions } from '../backoff.js';
import type { Endpoint } from './endpoint.js';
import { ConnectError } from './errors.js';
import { ipVersion } from '../ip.js';
import { count } from '../plural.js';

/** Every address a name resolves to, as the system resolver answers (hosts file, search domains). */
export type Lookup = (host: string) => Promise<string[]>;

export const systemLookup: Lookup = async (host) => {
  // Loaded at the first name: a run given addresses does without node:dns.
  const { lookup } = await import('node:dns/promises');
  return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
};

export interface ServerSpec extends Endpoint {
  /** Share of the chunks relative to the other servers (1 by default). */
  weight?: number;
}

export interface GroupHandlers {
  add(endpoint: Endpoint): void;
  remove(endpoint: Endpoint): void;
  failed(error: ConnectError): void;
}

export class ServerGroup {
  private readonly addresses = new Set<string>();
  private readonly abort = new AbortController();
  private readonly running: Promise<void>;

  constructor(
    readonly spec: ServerSpec,
    private readonly lookup: Lookup,
    private readonly refreshMs: number,
    private readonly backoff: BackoffOptions,
    private readonly on: GroupHandlers,
  ) {
    if (ipVersion(spec.host) !== 0) {
      this.on.add({ host: spec.host, port: spec.port });
      this.running = Promise.resolve();
    } else {
      this.running = this.resolveLoop();
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  /** Resolves now, then every refreshMs (0: never again once resolved); after a failure with nothing known, with backoff. */
  private async resolveLoop(): Promise<void> {
    const backoff = new Backoff(this.backoff);
    while (!this.abort.signal.aborted) {
      const ok = await this.resolve();
      if (this.abort.signal.aborted) return;
      if (ok) backoff.reset();
      if (this.addresses.size === 0) await sleep(backoff.next(), this.abort.signal);
      else if (this.refreshMs > 0) await sleep(this.refreshMs, this.abort.signal);
      else return;
    }
  }

  private async resolve(): Promise<boolean> {
    const { host, port } = this.spec;
    let found: string[];
    try {
      found = [...new Set(await this.lookup(host))];
      if (found.length === 0) throw new Error('no addresses');
    } catch (error) {
      if (this.abort.signal.aborted) return false;
      const reason = (error as Error).message;
      const kept = this.addresses.size > 0 ? `; keeping its ${count(this.addresses.size, 'known address', 'known addresses')}` : '';
      this.on.failed(new ConnectError(`cannot resolve ${host}: ${reason}${kept}`, { cause: error }));
      return false;
    }
    if (this.abort.signal.aborted) return false;
    for (const address of found) {
      if (this.addresses.has(address)) continue;
      this.addresses.add(address);
      this.on.add({ host, port, address });
    }
    for (const address of [...this.addresses]) {
      if (found.includes(address)) continue;
      this.addresses.delete(address);
      this.on.remove({ host, port, address });
    }
    return true;
  }
}
