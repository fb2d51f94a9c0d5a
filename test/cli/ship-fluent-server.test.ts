/**
 * The built CLI shipping to a receiver somebody else wrote: @fluent-org/logger's FluentServer,
 * with shared key and user auth, acks on. Stdin, a plain file and a .gz, in one run.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FluentServer } from '@fluent-org/logger';
import { sampleLines } from '../../src/sample/generate.js';
import { parseTimestamp } from '../../src/schema/timestamp.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { jsonSummary } from '../helpers/ship-cli.js';

class RecordingServer extends FluentServer {
  readonly received: { tag: string; time: [number, number]; record: Record<string, unknown> }[] = [];
  protected override onEntry(tag: string, time: unknown, record: Record<string, unknown>): void {
    const t = time as { epoch: number; nano: number };
    this.received.push({ tag, time: [t.epoch, t.nano], record });
  }
}

describe('audit-ship → @fluent-org/logger FluentServer', () => {
  const server = new RecordingServer({
    listenOptions: { port: 0, host: '127.0.0.1' },
    security: { serverHostname: 'peer', sharedKey: 'k3y', authorize: true, userDict: { alice: 'wonderland' } },
  });
  after(() => server.close());

  it('delivers stdin, a plain file and a .gz, each record once with its own nanosecond time', async () => {
    await server.listen();
    const dir = tempDir();
    const all = [...sampleLines(900, { seed: 61, start: 1632312000 })];
    writeFileSync(join(dir, 'a.log'), all.slice(300, 600).join(''));
    writeFileSync(join(dir, 'b.log.gz'), gzipSync(all.slice(600).join('')));
    const res = await runCli(
      [
        '--port',
        String(server.port),
        '--shared-key',
        'k3y',
        '--username',
        'alice',
        '--password',
        'wonderland',
        '--tag',
        'deploy_audit.peer',
        '--chunk-records',
        '100',
        '--summary',
        'json',
        '-',
        join(dir, 'a.log'),
        join(dir, 'b.log.gz'),
      ],
      { input: all.slice(0, 300).join('') },
    );
    assert.equal(res.code, 0, res.stderr);
    const summary = jsonSummary(res.stderr);
    assert.equal(summary.recordsAcked, 900);
    // The process's own CPU time: more than nothing, and no more than two cores' worth of its run.
    assert.ok(summary.cpuSeconds! > 0 && summary.cpuSeconds! < 2 * (summary.seconds! + 5), `cpuSeconds ${summary.cpuSeconds}`);
    assert.equal(server.received.length, 900);
    const byId = new Map(server.received.map((r) => [r.record.RequestID as string, r]));
    assert.equal(byId.size, 900);
    for (const line of all) {
      const record = JSON.parse(line) as { RequestID: string; Timestamp: string };
      const got = byId.get(record.RequestID)!;
      const t = parseTimestamp(record.Timestamp);
      assert.ok(t.ok);
      assert.deepEqual(got.time, [t.seconds, t.nanoseconds]);
      assert.equal(got.tag, 'deploy_audit.peer');
      assert.deepEqual(got.record, record);
    }
  });
});
