/** Loopback ports for tests: one nothing listens on, and one in use. */
import { once } from 'node:events';
import { createServer } from 'node:net';

/** A loopback port that nothing listens on (just now): for a receiver that starts later, or never. */
export async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return port;
}

/** A loopback port a server holds until the test ends (`t.after`): for "the address is in use". */
export async function busyPort(t: { after(fn: () => void): void }): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  t.after(() => s.close());
  return (s.address() as { port: number }).port;
}
