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
