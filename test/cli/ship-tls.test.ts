/**
 * `audit-ship` over TLS into `audit-ship receive`, both real processes: the files checked at
 * start, and read again for each new connection (a certificate renewed in place).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { replaceFile, runCli, tempDir } from '../helpers/cli.js';
import { receivers } from '../helpers/receive-cli.js';
import { scrapeUntil, startMeteredShip, startShip, waitFor } from '../helpers/ship-cli.js';
import { fixture } from '../helpers/paths.js';
import { lines } from '../helpers/ledger.js';

const receiver = receivers();
const SERVER = ['--tls-cert', fixture('tls/server.pem'), '--tls-key', fixture('tls/server.key')];
const ROTATED_SERVER = ['--tls-cert', fixture('tls/rotated-server.pem'), '--tls-key', fixture('tls/rotated-server.key')];

describe('audit-ship ship over TLS', () => {
  it('ships over TLS with the CA and server name given', async () => {
    const r = await receiver(['--tls-cert', fixture('tls/server.pem'), '--tls-key', fixture('tls/server.key')]);
    const res = await runCli(['--port', String(r.port), '--tls-ca', fixture('tls/ca.pem'), '--tls-servername', 'localhost'], {
      input: lines(5, 27).join(''),
    });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(r.events().length, 5);
  });

  it('warns on stderr that --tls-insecure checks no certificate, and still ships', async () => {
    const r = await receiver(['--tls-cert', fixture('tls/server.pem'), '--tls-key', fixture('tls/server.key')]);
    const res = await runCli(['--port', String(r.port), '--tls-insecure'], { input: lines(3, 30).join('') });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /warning: --tls-insecure: the server's certificate is not checked/);
    assert.equal(r.events().length, 3);
  });

  it('exits 1 naming the cause when the certificate is not trusted', async () => {
    const r = await receiver(['--tls-cert', fixture('tls/server.pem'), '--tls-key', fixture('tls/server.key')]);
    const res = await runCli(['--port', String(r.port), '--tls-ca', fixture('tls/other-ca.pem'), '--tls-servername', 'localhost'], {
      input: lines(5, 28).join(''),
    });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /TLS with 127\.0\.0\.1:\d+ failed: unable to verify the first certificate \(ERR_AUDIT_SHIP_TLS\)/);
  });

  it('refuses at start, exit 2, a certificate or key TLS could not use, naming the option and file', async () => {
    const dir = tempDir('audit-ship-tls-');
    const damaged = join(dir, 'damaged.pem');
    writeFileSync(damaged, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const cut = join(dir, 'cut.pem');
    writeFileSync(cut, readFileSync(fixture('tls/ca.pem'), 'latin1').split('\n').slice(0, 5).join('\n'));
    const bundle = join(dir, 'bundle.pem');
    writeFileSync(bundle, readFileSync(fixture('tls/ca.pem'), 'latin1') + readFileSync(damaged, 'latin1'));
    const client = ['--tls-cert', fixture('tls/client.pem')];
    const cases: [string[], RegExp][] = [
      [[...client, '--tls-key', fixture('tls/server.key')], /--tls-key \S+server\.key is not the key of --tls-cert \S+client\.pem/],
      [['--tls-ca', damaged], /--tls-ca \S+damaged\.pem: certificate 1 of 1 is damaged \(OpenSSL: wrong tag\)/],
      [['--tls-ca', bundle], /--tls-ca \S+bundle\.pem: certificate 2 of 2 is damaged/],
      [['--tls-ca', cut], /--tls-ca \S+cut\.pem: certificate 1 of 1 has no END line/],
      [['--tls-cert', damaged, '--tls-key', fixture('tls/client.key')], /--tls-cert \S+damaged\.pem: certificate 1 of 1 is damaged/],
      [[...client, '--tls-key', cut], /--tls-key \S+cut\.pem: holds no PEM private key/],
    ];
    for (const [args, said] of cases) {
      const res = await runCli(['--port', '1', ...args], { input: lines(1, 31).join('') });
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, said);
      assert.doesNotMatch(res.stderr, /lines read/, 'refused before any input was read');
    }
    const served = await runCli(['receive', '--tls-cert', fixture('tls/client.pem'), '--tls-key', fixture('tls/server.key')]);
    assert.equal(served.code, 2, served.stderr);
    assert.match(served.stderr, /--tls-key \S+server\.key is not the key of --tls-cert \S+client\.pem/);
  });

  it('says at start that an encrypted key needs decrypting, and how', async () => {
    const dir = tempDir('audit-ship-tls-');
    const key = join(dir, 'encrypted.key');
    // The client's key, encrypted with the passphrase "x".
    const { createPrivateKey } = await import('node:crypto');
    writeFileSync(
      key,
      createPrivateKey(readFileSync(fixture('tls/client.key'))).export({
        type: 'pkcs8',
        format: 'pem',
        cipher: 'aes-256-cbc',
        passphrase: 'x',
      }),
    );
    const res = await runCli(['--port', '1', '--tls-cert', fixture('tls/client.pem'), '--tls-key', key], { input: '' });
    assert.equal(res.code, 2, res.stderr);
    assert.match(
      res.stderr,
      /--tls-key \S+encrypted\.key: the private key cannot be read \(OpenSSL: [^)]+\): it is encrypted; give it unencrypted \(openssl pkey -in /,
    );
  });

  it('takes up a CA renewed in place at the next connection, without a restart', async () => {
    const dir = tempDir('audit-ship-tls-');
    const ca = join(dir, 'ca.pem');
    copyFileSync(fixture('tls/ca.pem'), ca);
    const before = await receiver(SERVER);
    const ship = startShip(['--port', String(before.port), '--tls-ca', ca, '--tls-servername', 'localhost', '--no-progress']);
    ship.child.stdin!.write(lines(5, 32).join(''));
    await waitFor(() => before.events().length === 5, 'the first five records');
    // The server's certificate is renewed under a new CA, and the client's CA file with it.
    replaceFile(ca, readFileSync(fixture('tls/rotated-ca.pem')));
    await before.stop();
    const after = await receiver([...ROTATED_SERVER, '--port', String(before.port)]);
    ship.child.stdin!.write(lines(5, 33).join(''));
    assert.equal(await ship.exit(), 0, ship.stderr());
    assert.equal(after.events().length, 5);
    assert.match(ship.stderr(), /--tls-ca \S+ca\.pem changed: new connections use it\n/);
    assert.doesNotMatch(ship.stderr(), /ERR_AUDIT_SHIP_TLS/);
  });

  it('keeps the files last read while a changed one cannot be used, says so once, and takes the good one up', async () => {
    const dir = tempDir('audit-ship-tls-');
    const ca = join(dir, 'ca.pem');
    copyFileSync(fixture('tls/ca.pem'), ca);
    const first = await receiver(SERVER);
    const port = String(first.port);
    const ship = startShip(['--port', port, '--tls-ca', ca, '--tls-servername', 'localhost', '--no-progress']);
    ship.child.stdin!.write(lines(3, 34).join(''));
    await waitFor(() => first.events().length === 3, 'the first three records');
    // Half-written: the new CA cut off. Two reconnects meet it; the old CA still verifies the server.
    writeFileSync(ca, readFileSync(fixture('tls/rotated-ca.pem'), 'latin1').slice(0, 300));
    await first.stop();
    for (const seed of [35, 36]) {
      const again = await receiver([...SERVER, '--port', port]);
      ship.child.stdin!.write(lines(3, seed).join(''));
      await waitFor(() => again.events().length === 3, `three records from seed ${seed} after a reconnect`);
      await again.stop();
    }
    replaceFile(ca, readFileSync(fixture('tls/rotated-ca.pem')));
    const rotated = await receiver([...ROTATED_SERVER, '--port', port]);
    ship.child.stdin!.write(lines(3, 37).join(''));
    assert.equal(await ship.exit(), 0, ship.stderr());
    assert.equal(rotated.events().length, 3);
    const kept = ship
      .stderr()
      .match(/--tls-ca \S+: certificate 1 of 1 has no END line: new connections keep the TLS files as last read\n/g);
    assert.equal(kept?.length, 1, ship.stderr());
    assert.match(ship.stderr(), /--tls-ca \S+ca\.pem changed: new connections use it\n/);
  });

  it("gives when the TLS files and the server's certificate expire as metrics, read at each scrape and connection", async () => {
    const dir = tempDir('audit-ship-tls-');
    const ca = join(dir, 'ca.pem');
    copyFileSync(fixture('tls/ca.pem'), ca);
    const r = await receiver(SERVER);
    const ship = await startMeteredShip(['--port', String(r.port), '--tls-ca', ca, '--tls-servername', 'localhost', '--no-progress']);
    const expiry = (name: string) => Date.parse(new X509Certificate(readFileSync(fixture(`tls/${name}`))).validTo) / 1000;
    const file = 'audit_ship_tls_certificate_expiry_timestamp_seconds{file="tls_ca"}';
    const served = `audit_ship_server_certificate_expiry_timestamp_seconds{server="127.0.0.1:${r.port}"}`;
    ship.child.stdin!.write(lines(1, 38).join(''));
    await scrapeUntil(ship, (m) => m.has(served), "the server certificate's expiry");
    const first = await ship.scrape();
    assert.equal(first.get(file), expiry('ca.pem'));
    assert.equal(first.get(served), expiry('server.pem'));
    assert.equal(first.has('audit_ship_tls_certificate_expiry_timestamp_seconds{file="tls_cert"}'), false);
    // Renewed in place, with no new connection since: the next scrape reads it.
    replaceFile(ca, readFileSync(fixture('tls/rotated-ca.pem')));
    assert.notEqual(expiry('rotated-ca.pem'), expiry('ca.pem'));
    assert.equal((await ship.scrape()).get(file), expiry('rotated-ca.pem'));
    assert.match(ship.stderr(), /--tls-ca \S+ca\.pem changed: new connections use it\n/);
    // The server restarts with its renewed certificate: the connection after it gives the new chain's expiry.
    await waitFor(() => r.events().length === 1, 'the first record');
    await r.stop();
    const after = await receiver([...ROTATED_SERVER, '--port', String(r.port)]);
    ship.child.stdin!.write(lines(1, 39).join(''));
    await waitFor(() => after.events().length === 1, 'the record after the restart');
    assert.notEqual(expiry('rotated-server.pem'), expiry('server.pem'));
    assert.equal((await ship.scrape()).get(served), expiry('rotated-server.pem'));
    assert.equal(await ship.exit(), 0, ship.stderr());
  });

  it('presents --tls-cert to a receive that asks for client certificates; without one, or one of another CA, it is refused and said', async () => {
    const r = await receiver([...SERVER, '--tls-client-ca', fixture('tls/client-ca.pem')]);
    assert.match(r.stderr(), /listening on \S+ \(tls, client certificates\)/);
    const to = ['--port', String(r.port), '--tls-ca', fixture('tls/ca.pem'), '--tls-servername', 'localhost', '--retry-timeout', '2s'];
    const ok = await runCli([...to, '--tls-cert', fixture('tls/client.pem'), '--tls-key', fixture('tls/client.key')], {
      input: lines(4, 40).join(''),
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(r.events().length, 4);
    const none = await runCli(to, { input: lines(1, 41).join('') });
    assert.equal(none.code, 1, none.stderr);
    assert.match(none.stderr, /a server that requires a client certificate .* give --tls-cert and --tls-key/);
    // Signed by the server's CA, not the client CA: refused by an alert, or by a reset under TLS 1.3 (then retried).
    const other = await runCli([...to, '--tls-cert', fixture('tls/server.pem'), '--tls-key', fixture('tls/server.key')], {
      input: lines(1, 42).join(''),
    });
    assert.notEqual(other.code, 0, other.stderr);
    assert.match(other.stderr, /does not accept the client certificate|does the server accept the client certificate \(--tls-cert\)\?/);
    assert.equal(r.events().length, 4, 'nothing from the refused clients');
    assert.match(r.stderr(), /closed 127\.0\.0\.1:\d+: TLS: peer did not return a certificate/);
    assert.match(
      r.stderr(),
      /closed 127\.0\.0\.1:\d+: TLS: the client certificate is not accepted \([A-Z_]+\): is it signed by --tls-client-ca/,
    );
    const alone = await runCli(['receive', '--tls-client-ca', fixture('tls/client-ca.pem')]);
    assert.equal(alone.code, 2, alone.stderr);
    assert.match(alone.stderr, /--tls-client-ca needs --tls-cert and --tls-key/);
  });
});
