/** The TLS files of the forward options: checked at start, read again for each new connection. */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TlsFiles } from '../../src/cli/tls-files.js';
import { replaceFile, tempDir } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';

/** Puts fixture `name` at `path` at once, as a Secret volume's update does. */
const put = (name: string, path: string) => replaceFile(path, readFileSync(fixture(`tls/${name}`)));

describe('TlsFiles', () => {
  it('takes up a renewed client certificate once its key has followed, and keeps the old pair meanwhile', () => {
    const dir = tempDir('audit-ship-tls-files-');
    const [cert, key] = [join(dir, 'tls.crt'), join(dir, 'tls.key')];
    put('client.pem', cert);
    put('client.key', key);
    const notes: string[] = [];
    const infos: string[] = [];
    const files = new TlsFiles(
      { cert, key },
      { rejectUnauthorized: true },
      (text) => notes.push(text),
      (text) => infos.push(text),
    );
    assert.deepEqual(files.options().cert, readFileSync(fixture('tls/client.pem')));
    assert.equal(files.options().rejectUnauthorized, true);
    assert.deepEqual([...notes, ...infos], [], 'nothing to say while the files stay as they were');

    put('server.pem', cert); // the new certificate, its key not yet written
    for (let i = 0; i < 3; i++) assert.deepEqual(files.options().key, readFileSync(fixture('tls/client.key')));
    assert.deepEqual(files.options().cert, readFileSync(fixture('tls/client.pem')));
    assert.equal(notes.length, 1, notes.join(''));
    assert.match(
      notes[0]!,
      /--tls-key \S+tls\.key is not the key of --tls-cert \S+tls\.crt.*: new connections keep the TLS files as last read\n$/,
    );

    const expiry = (name: string) => Date.parse(new X509Certificate(readFileSync(fixture(`tls/${name}`))).validTo) / 1000;
    assert.deepEqual(files.expiries(), { tls_cert: expiry('client.pem') }, 'the pair in use, not the half-renewed one');
    put('server.key', key);
    assert.deepEqual(files.expiries(), { tls_cert: expiry('server.pem') });
    const renewed = files.options();
    assert.deepEqual([renewed.cert, renewed.key], [readFileSync(fixture('tls/server.pem')), readFileSync(fixture('tls/server.key'))]);
    // A change taken up is information (left out under --quiet); a file that cannot be used, a note.
    assert.deepEqual(infos, [`audit-ship: --tls-cert ${cert}, --tls-key ${key} changed: new connections use them\n`]);
    assert.equal(notes.length, 1);
  });

  it('keeps the last files while one is missing, says it once, and says it again if it happens again', () => {
    const dir = tempDir('audit-ship-tls-files-');
    const ca = join(dir, 'ca.crt');
    put('ca.pem', ca);
    const notes: string[] = [];
    const files = new TlsFiles({ ca }, {}, (text) => notes.push(text));
    rmSync(ca);
    files.options();
    assert.deepEqual(files.options().ca, readFileSync(fixture('tls/ca.pem')));
    put('ca.pem', ca);
    files.options();
    rmSync(ca);
    files.options();
    assert.equal(notes.length, 2, notes.join(''));
    for (const note of notes)
      assert.match(note, /--tls-ca \S+ca\.crt: .*(no such file|ENOENT).*: new connections keep the TLS files as last read\n$/i);
  });

  it("gives a CA bundle's expiry as its last CA's, and a client certificate's as the first of its chain", () => {
    const dir = tempDir('audit-ship-tls-files-');
    const [ca, cert] = [join(dir, 'ca.crt'), join(dir, 'tls.crt')];
    const pem = (name: string) => readFileSync(fixture(`tls/${name}`), 'latin1');
    const expiry = (name: string) => Date.parse(new X509Certificate(readFileSync(fixture(`tls/${name}`))).validTo) / 1000;
    // An old CA beside its replacement, as a rotation gives; a client certificate followed by its CA.
    writeFileSync(ca, pem('ca.pem') + pem('rotated-ca.pem'));
    writeFileSync(cert, pem('client.pem') + pem('client-ca.pem'));
    const files = new TlsFiles({ ca, cert, key: fixture('tls/client.key') }, {}, () => {});
    const [oldCa, newCa] = [expiry('ca.pem'), expiry('rotated-ca.pem')];
    const [leaf, issuer] = [expiry('client.pem'), expiry('client-ca.pem')];
    assert.ok(oldCa < newCa && leaf !== issuer, 'fixtures that tell first from last');
    assert.deepEqual(files.expiries(), { tls_ca: newCa, tls_cert: Math.min(leaf, issuer) });
  });

  it('throws at start naming the file that cannot be used', () => {
    const dir = tempDir('audit-ship-tls-files-');
    assert.throws(() => new TlsFiles({ ca: join(dir, 'none.pem') }, {}, () => {}), /^UsageError: --tls-ca \S+none\.pem: /);
    assert.throws(
      () => new TlsFiles({ cert: fixture('tls/client.pem'), key: fixture('tls/server.key') }, {}, () => {}),
      /is not the key of --tls-cert/,
    );
  });
});
