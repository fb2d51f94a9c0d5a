/** Peer: @fluent-org/logger shipping the corpus with acks (PackedForward), as its README suggests. */
import { EventTime, FluentClient } from '@fluent-org/logger';
import { shipCorpus } from './peer-loop.js';

const [path, port] = [process.argv[2]!, Number(process.argv[3])];
const client = new FluentClient('deploy_audit', { socket: { host: '127.0.0.1', port }, ack: {}, eventMode: 'PackedForward' });
await shipCorpus(
  path,
  (record, s, ns) => client.emit('peer', record, new EventTime(s, ns)),
  () => client.shutdown(),
);
