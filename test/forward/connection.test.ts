import assert from 'node:assert/strict';
import { once } from 'node:events';
import { afterEach, describe, it } from 'node:test';
import { Connection } from '../../src/forward/connection.js';
import { ConnectionLostError } from '../../src/forward/errors.js';
import { FaultServer } from '../helpers/fault-server.js';
import { senderOptions } from '../helpers/forward.js';

const servers: FaultServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
});

async function open(): Promise<{ server: FaultServer; connection: Connection }> {
  const server = new FaultServer(() => 'ack');
  servers.push(server);
  const port = await server.listen();
  return { server, connection: await Connection.open({ host: '127.0.0.1', port }, senderOptions(port)) };
}

describe('Connection', () => {
  it('closes without an error when ended deliberately', async () => {
    const { connection } = await open();
    const closed = once(connection, 'close');
    await connection.end();
    const [error] = (await closed) as [unknown];
    assert.equal(error, undefined);
    assert.equal(connection.state, 'closed');
  });

  it('reports a lost connection when the peer closes it', async () => {
    const { server, connection } = await open();
    const closed = once(connection, 'close');
    await server.close();
    const [error] = (await closed) as [unknown];
    assert.ok(error instanceof ConnectionLostError);
  });
});
