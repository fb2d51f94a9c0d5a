/**
 * A step of the wall clock (an NTP correction, a VM resumed or migrated) is not time passing:
 * --retry-timeout and the liveness probe are timed on the monotonic clock. The step is made with
 * libfaketime (Debian's faketime) on the wall clock alone; without it these tests are skipped, with
 * the reason printed.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit.js';
import { tempDir } from '../helpers/cli.js';
import { lines } from '../helpers/ledger.js';
import { startMeteredShip, startShip, waitFor, type ShipChild } from '../helpers/ship-cli.js';

/** libfaketime's library, wherever Debian puts it for this architecture, or null. */
function findLibfaketime(): string | null {
  const dirs = [
    '/usr/lib/faketime',
    ...(existsSync('/usr/lib') ? readdirSync('/usr/lib').map((d) => join('/usr/lib', d, 'faketime')) : []),
  ];
  return dirs.map((d) => join(d, 'libfaketime.so.1')).find((f) => existsSync(f)) ?? null;
}
const libfaketime = findLibfaketime();
const skip = libfaketime ? false : 'libfaketime is not installed (Debian: apt-get install faketime)';
if (skip) process.stdout.write(`# skipping the clock-step tests: ${skip}\n`);

/** An environment whose wall clock is the real one plus whatever `step()` writes; the monotonic clock is left real. */
function steppedClock(): { env: NodeJS.ProcessEnv; step: (offset: string) => void } {
  const file = join(tempDir(), 'faketime');
  writeFileSync(file, '+0\n');
  return {
    env: {
      LD_PRELOAD: libfaketime!,
      FAKETIME_TIMESTAMP_FILE: file,
      FAKETIME_NO_CACHE: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    },
    step: (offset) => writeFileSync(file, `${offset}\n`),
  };
}

const retries = (ship: ShipChild) => ship.stderr().split('; retrying\n').length - 1;

/** A file of records for a shipper that cannot deliver them (port 1 refuses). */
function undeliverable(): string {
  const file = join(tempDir(), 'audit.log');
  writeFileSync(file, lines(20, 71).join(''));
  return file;
}

describe('a step of the wall clock', { skip }, () => {
  it('does not use up --retry-timeout', async () => {
    const clock = steppedClock();
    const ship = startShip(['--port', '1', '--retry-timeout', '1h', undeliverable()], clock.env);
    await waitFor(() => retries(ship) >= 1, 'a first retry');
    clock.step('+2h');
    const after = retries(ship);
    // Each retry checks the timeout; before, the first one after the step gave up ("for 1 h").
    await waitFor(() => retries(ship) >= after + 3 || ship.child.exitCode !== null, 'three retries after the step');
    assert.doesNotMatch(ship.stderr(), /gave up/);
    assert.equal(ship.child.exitCode, null, ship.stderr());
    assert.equal(await ship.exit('SIGTERM'), EXIT.leftInSpool, ship.stderr());
  });

  it('fails no liveness probe', async () => {
    const clock = steppedClock();
    const ship = await startMeteredShip(['--port', '1', undeliverable()], clock.env);
    const url = /metrics on (http:\/\/\S+)\/metrics/.exec(ship.stderr())![1]!;
    await waitFor(() => retries(ship) >= 1, 'a first retry');
    clock.step('+2h');
    const after = retries(ship);
    // Probed throughout three retries (over a second: the event loop's timer has ticked since the step).
    const answers = new Set<string>();
    while (retries(ship) < after + 3) {
      const response = await fetch(`${url}/healthz`);
      answers.add(`${response.status} ${(await response.text()).trim()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual([...answers], ['200 ok']);
    assert.equal(await ship.exit('SIGTERM'), EXIT.leftInSpool, ship.stderr());
  });
});
