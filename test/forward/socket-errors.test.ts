import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode } from '@msgpack/msgpack';
import { notForwardReply, textStart } from '../../src/forward/socket-errors.js';

describe('textStart', () => {
  it('names HTTP answers, requests and pages, and other text, by their first line', () => {
    assert.equal(textStart(Buffer.from('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')), 'HTTP ("HTTP/1.1 400 Bad Request")');
    assert.equal(textStart(Buffer.from('POST / HTTP/1.1\r\n')), 'HTTP ("POST / HTTP/1.1")');
    assert.equal(textStart(Buffer.from('<!DOCTYPE HTML>\n<html>')), 'HTTP ("<!DOCTYPE HTML>")');
    assert.equal(textStart(Buffer.from('220 mail.example.com ESMTP\r\n')), 'text ("220 mail.example.com ESMTP")');
    assert.equal(textStart(Buffer.from('["deploy_audit",1632312000,{"Host":"a"}]')), 'JSON ("["deploy_audit",1632312000,{"Host":"a"}]")');
  });

  it('quotes at most 80 characters of a long line', () => {
    assert.equal(textStart(Buffer.from('x'.repeat(500))), `text ("${'x'.repeat(80)}…")`);
  });

  it('finds no text in what forward peers send, in control bytes, or in fewer than 4 characters', () => {
    for (const message of [
      ['HELO', { nonce: Buffer.alloc(16) }],
      ['PONG', true, '', 'host', 'digest'],
      { ack: 'YWJj' },
      ['tag', [[1, {}]]],
    ]) {
      assert.equal(textStart(Buffer.from(encode(message))), null, JSON.stringify(message));
    }
    assert.equal(textStart(Buffer.from('\u001b[2Jcleared')), null);
    assert.equal(textStart(Buffer.from('SSH')), null);
    assert.equal(textStart(Buffer.from([0xc3, 0xa9, 0x61, 0x62, 0x63, 0x64])), null);
  });
});

describe('notForwardReply', () => {
  it('says TLS on a plain connection only, and text either way', () => {
    const hello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05]);
    assert.match(notForwardReply('f:24224', hello, false)!.message, /^f:24224 answered in TLS; does the server expect TLS\?/);
    assert.equal(notForwardReply('f:24224', hello, true), null);
    const http = Buffer.from('HTTP/1.1 400 Bad Request\r\n');
    for (const tls of [false, true]) {
      assert.match(
        notForwardReply('f:9880', http, tls)!.message,
        /^f:9880 answered in HTTP \("HTTP\/1\.1 400 Bad Request"\), not the Forward protocol; /,
      );
    }
    assert.equal(notForwardReply('f:24224', Buffer.from(encode({ ack: 'YWJj' })), false), null);
  });
});
