/**
 * Input that never ends a line, or never ends at all: memory stays bounded (an over-long line is
 * skipped as it streams past, never buffered), and the first stop signal ends the reading.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit.js';
import { runCli } from '../helpers/cli.js';
import { jsonSummary, scrapeUntil, startMeteredShip } from '../helpers/ship-cli.js';

describe('endless input', () => {
  it('a line with no end on stdin: read in bounded memory, and one SIGTERM stops it', async () => {
    const ship = await startMeteredShip(['--port', '1', '--shutdown-timeout', '200ms']);
    const text = Buffer.alloc(1024 * 1024, 'x');
    const stdin = ship.child.stdin!;
    let feeding = true;
    const feed = () => {
      while (feeding && stdin.write(text));
      if (feeding) stdin.once('drain', feed);
    };
    feed();
    await scrapeUntil(ship, (m) => (m.get('audit_ship_input_bytes_total') ?? 0) >= 200 * 1024 * 1024, '200 MB read');
    const code = await ship.exit('SIGTERM'); // one signal, and the feeder keeps writing until the exit
    feeding = false;
    assert.equal(code, EXIT.inputUnread, ship.stderr());
    const s = jsonSummary(ship.stderr());
    assert.equal(s.lines, 1);
    assert.deepEqual(s.invalidByCode, { 'cut-at-stop': 1 });
    assert.ok(s.bytesRead! >= 200 * 1024 * 1024);
    // The default --max-line-bytes is 4 MiB: a 200 MB line held in memory would show here.
    assert.ok(s.peakRssBytes! < 160 * 1024 * 1024, `peak RSS ${s.peakRssBytes}`);
  });

  it('/dev/zero is refused at its first bytes, not read for ever', async () => {
    const res = await runCli(['--port', '1', '--summary', 'json', '/dev/zero']);
    assert.equal(res.code, EXIT.inputUnread, res.stderr);
    assert.match(res.stderr, /\/dev\/zero: holds nothing but NUL bytes \(a device, not a log\)/);
    assert.ok(jsonSummary(res.stderr).bytesRead! < 1024 * 1024);
  });
});
