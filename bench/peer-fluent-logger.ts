/** Peer: fluent-logger shipping the corpus with requireAckResponse in PackedForward mode. */
import fluentLogger from 'fluent-logger';
import { shipCorpus } from './peer-loop.js';

const [path, port] = [process.argv[2]!, Number(process.argv[3])];
const sender = fluentLogger.createFluentSender('deploy_audit', {
  host: '127.0.0.1',
  port,
  timeout: 30,
  requireAckResponse: true,
  eventMode: 'PackedForward',
  flushInterval: 10,
});
await shipCorpus(
  path,
  (record, s, ns) =>
    new Promise((resolve, reject) =>
      sender.emit('peer', record, new fluentLogger.EventTime(s, ns), (e?: Error) => (e ? reject(e) : resolve())),
    ),
  () => new Promise((resolve) => sender.end(undefined, undefined, () => resolve())),
);
