/** Loopback ports for tests: one nothing listens on, one in use, and a peer of a test's own. */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';

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

/**
 * A loopback TCP server that hands each connection to `peer`, until the test ends (`t.after`):
 * then its connections are destroyed and it closes. Returns its port.
 */
export async function testPeer(t: { after(fn: () => void): void }, peer: (socket: Socket) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    peer(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return (server.address() as { port: number }).port;
}
