/**
 * A run loads only the parts of node it uses: TLS, DNS, worker threads and OpenSSL each cost
 * memory and start-up time (about 2 MB and 15 ms together), so a plain run from files to an
 * address does without them, and each is loaded where it is needed.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LIST_BUILTINS, LIST_PACKAGES, loadedBuiltins, loadedPackages, runCli, tempDir } from '../helpers/cli.js';
import { lines } from '../helpers/ledger.js';
import { fixture } from '../helpers/paths.js';
import { receivers } from '../helpers/receive-cli.js';
import { jsonSummary } from '../helpers/ship-cli.js';

const dir = tempDir('audit-ship-modules-');
const receiver = receivers();
const UNUSED = ['crypto', 'tls', 'dns', 'dns/promises', 'worker_threads'];

/** A ship run with LIST_BUILTINS: its summary and the node modules it loaded. */
async function ship(args: string[], input?: string): Promise<{ acked: number; builtins: Set<string> }> {
  const res = await runCli([...args, '--summary', 'json', '--no-progress'], { input, env: { NODE_OPTIONS: LIST_BUILTINS } });
  assert.equal(res.code, 0, res.stderr);
  return { acked: jsonSummary(res.stderr).recordsAcked, builtins: loadedBuiltins(res.stderr) };
}

describe('node modules a run loads', () => {
  it('from files to an address: no OpenSSL, TLS, DNS or worker threads', async () => {
    const r = await receiver();
    const file = join(dir, 'plain.jsonl');
    writeFileSync(file, lines(200, 41).join(''));
    const run = await ship(['--host', '127.0.0.1', '--port', String(r.port), '--spool-dir', join(dir, 'spool-plain'), file]);
    assert.equal(run.acked, 200);
    // The probe sees what it should: the modules every run needs are listed.
    for (const name of ['net', 'zlib', 'fs']) assert.ok(run.builtins.has(name), `${name} not listed`);
    for (const name of UNUSED) assert.ok(!run.builtins.has(name), `a plain run loaded node:${name}`);
  });

  it('--help, --version and lint load no msgpack library (they encode nothing), nor chalk on pipes', async () => {
    const file = join(dir, 'lint.jsonl');
    writeFileSync(file, lines(20, 47).join(''));
    const r = await receiver();
    const shipped = await runCli(['--port', String(r.port), '--spool-dir', join(dir, 'spool-packages'), file], {
      env: { NODE_OPTIONS: LIST_PACKAGES },
    });
    assert.equal(shipped.code, 0, shipped.stderr);
    assert.ok(loadedPackages(shipped.stderr).has('@msgpack/msgpack'), 'the package probe did not see ship load msgpack');
    for (const args of [['--help'], ['--version'], ['lint', file]]) {
      const res = await runCli(args, { env: { NODE_OPTIONS: LIST_PACKAGES } });
      assert.equal(res.code, 0, res.stderr);
      const packages = loadedPackages(res.stderr);
      assert.ok(packages.has('commander'), `${args[0]}: the package probe listed nothing`);
      for (const name of ['@msgpack/msgpack', 'chalk', 'prom-client', 'ora']) assert.ok(!packages.has(name), `${args[0]} loaded ${name}`);
    }
  });

  it('loads each where it is used: TLS for --tls-ca, OpenSSL for --shared-key, DNS for a host name, threads for --workers', async () => {
    const tls = await receiver(['--tls-cert', fixture('tls/server.pem'), '--tls-key', fixture('tls/server.key')]);
    const overTls = await ship(
      [
        '--port',
        String(tls.port),
        '--tls-ca',
        fixture('tls/ca.pem'),
        '--tls-servername',
        'localhost',
        '--spool-dir',
        join(dir, 'spool-tls'),
      ],
      lines(5, 42).join(''),
    );
    assert.equal(overTls.acked, 5);
    assert.ok(overTls.builtins.has('tls'), 'TLS ran without node:tls');

    const keyed = await receiver(['--shared-key', 'k3y']);
    const withKey = await ship(
      ['--port', String(keyed.port), '--shared-key', 'k3y', '--spool-dir', join(dir, 'spool-key')],
      lines(5, 46).join(''),
    );
    assert.equal(withKey.acked, 5);
    assert.ok(withKey.builtins.has('crypto'), 'the shared-key handshake ran without node:crypto');

    const r = await receiver();
    const byName = await ship(
      ['--host', 'localhost', '--port', String(r.port), '--spool-dir', join(dir, 'spool-dns')],
      lines(5, 43).join(''),
    );
    assert.equal(byName.acked, 5);
    assert.ok(byName.builtins.has('dns/promises'), 'a host name was resolved without node:dns/promises');

    const files = [0, 1].map((i) => join(dir, `part-${i}.jsonl`));
    files.forEach((file, i) => writeFileSync(file, lines(50, 44 + i).join('')));
    const threads = await ship(['--port', String(r.port), '--workers', '2', '--spool-dir', join(dir, 'spool-workers'), ...files]);
    assert.equal(threads.acked, 100);
    assert.ok(threads.builtins.has('worker_threads'), 'two readers ran without node:worker_threads');
  });
});
