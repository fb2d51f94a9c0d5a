/**
 * SIGUSR1: node opens a debugger on 127.0.0.1:9229 at it unless the signal has a listener, so that
 * anyone who may signal the process could run code in it. `ship` says the run so far at it (as dd
 * does), and no command opens the debugger.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ledger } from '../helpers/ledger.js';
import { receivers, startReceiveCli } from '../helpers/receive-cli.js';
import { startShip, waitFor } from '../helpers/ship-cli.js';

const receiver = receivers();
const DEBUGGER = /Debugger listening/;

describe('SIGUSR1', () => {
  it('ship says the run so far, and goes on', async () => {
    const r = await receiver();
    const ledger = new Ledger(3, 161);
    const ship = startShip(['--port', String(r.port), '--flush-interval', '50ms']);
    ship.child.stdin!.write(ledger.text());
    await waitFor(() => r.events().length === 3, '3 records at the receiver');
    ship.child.kill('SIGUSR1');
    await waitFor(() => ship.stderr().includes('3 acked'), 'the run so far');
    assert.match(
      ship.stderr(),
      /audit-ship: SIGUSR1: the run so far\naudit-ship: 3 lines read: 3 valid, 0 invalid, 0 skipped \(0 not audit records, 0 blank\)\n3 records sent, 3 acked in 1 chunk, 0 chunks resent; 0 left in spool\n/,
    );
    assert.equal(await ship.exit(), 0, ship.stderr());
    assert.doesNotMatch(ship.stderr(), DEBUGGER);
    assert.equal(ledger.assertComplete(r.requestIds()), 0);
  });

  it('opens no debugger in a command that ignores it', async (t) => {
    const r = await startReceiveCli();
    t.after(() => r.stop());
    r.child.kill('SIGUSR1');
    // Signals are handled in the order sent: by the SIGTERM, a debugger would have said so.
    assert.equal(await r.stop(), 0, r.stderr());
    assert.doesNotMatch(r.stderr(), DEBUGGER);
  });
});
