import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { CLI } from '../helpers/paths.js';

describe('audit-ship sample', () => {
  it('writes the requested number of valid records, the same for the same seed', async () => {
    const a = await runCli(['sample', '--count', '50', '--seed', '9']);
    const b = await runCli(['sample', '--count', '50', '--seed', '9']);
    assert.equal(a.code, 0);
    assert.equal(a.stdout, b.stdout);
    assert.equal(a.stdout.trim().split('\n').length, 50);
    const lint = await runCli(['lint'], { input: a.stdout });
    assert.equal(lint.code, 0, lint.stdout);
  });

  it('--start takes seconds since the epoch, an RFC 3339 time, a date or a span before now, and says so when it is none', async () => {
    const first = async (start: string) => {
      const r = await runCli(['sample', '--count', '1', '--start', start]);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { Timestamp: string }).Timestamp;
    };
    // The default, as --help shows it, is accepted as it is shown.
    const shown = await first('2021-09-22T12:00:00Z');
    assert.equal(shown, (await runCli(['sample', '--count', '1'])).stdout.match(/"Timestamp":"([^"]+)"/)![1]);
    assert.equal(await first('1632312000'), shown);
    assert.match(await first('2024-01-01'), /^2024-01-01T00:00:00\.\d+Z$/);
    const before = Date.now();
    const anHourAgo = Date.parse(await first('1h'));
    assert.ok(anHourAgo >= before - 3_600_000 - 1000 && anHourAgo <= Date.now() - 3_600_000 + 1000, new Date(anHourAgo).toISOString());
    // As --help says it: "24h ago".
    const spoken = Date.parse(await first('1h ago'));
    assert.ok(spoken >= before - 3_600_000 - 1000 && spoken <= Date.now() - 3_600_000 + 1000, new Date(spoken).toISOString());
    const bad = await runCli(['sample', '--start', 'yesterday']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--start <time>' argument 'yesterday' is invalid\. expected seconds since the epoch/);
    assert.equal((await runCli(['sample', '--start', '1h ago ago'])).code, 2);
    // The last second an event time holds, and past it (once an internal error: "Invalid time value").
    assert.match(await first('4294967295'), /^2106-02-07T06:28:15\.\d+Z$/);
    const past = await runCli(['sample', '--start', '99999999999999999999']);
    assert.equal(past.code, 2, past.stderr);
    assert.match(past.stderr, /expected seconds since the epoch up to 4294967295 \(2106-02-07T06:28:15Z\)/);
  });

  it('stops quietly, exit 0, when the reader closes the pipe early (`sample | head`)', async () => {
    const child = spawn(process.execPath, [CLI, 'sample', '--count', '1000000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    await once(child.stdout, 'data');
    child.stdout.destroy();
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0);
    assert.equal(stderr, '');
  });
});
