/** The decoded start of a gzip file: whole members, a member followed by garbage, every header field. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { constants, crc32, gunzipSync, gzipSync } from 'node:zlib';
import { inflateHead } from '../../src/input/gzip-head.js';
import { SNIFF_BYTES } from '../../src/input/sniff.js';

const TEXT = '{"RequestID":"a"}\n{"RequestID":"b"}\n';

/** A gzip member of TEXT with the optional header fields of `flags` (RFC 1952), as gzip(1) writes FNAME. */
function member(flags: number): Buffer {
  const plain = gzipSync(TEXT);
  const fields: Buffer[] = [];
  if (flags & 0x04) fields.push(Buffer.from([5, 0, 1, 2, 3, 4, 5]));
  if (flags & 0x08) fields.push(Buffer.from('audit.log\0'));
  if (flags & 0x10) fields.push(Buffer.from('rotated\0'));
  const header = Buffer.from(plain.subarray(0, 10));
  header[3] = flags;
  if (flags & 0x02) {
    const crc16 = Buffer.alloc(2);
    crc16.writeUInt16LE(crc32(Buffer.concat([header, ...fields])) & 0xffff);
    fields.push(crc16);
  }
  return Buffer.concat([header, ...fields, plain.subarray(10)]);
}

describe('inflateHead', () => {
  it('decodes whole members, and what a head cut short holds', () => {
    const two = Buffer.concat([member(0), member(0)]);
    assert.equal(inflateHead(two).toString(), TEXT + TEXT);
    assert.ok(TEXT.startsWith(inflateHead(member(0).subarray(0, 16)).toString()));
  });

  for (const [name, flags] of [
    ['no optional field', 0],
    ['FNAME', 0x08],
    ['FEXTRA', 0x04],
    ['FCOMMENT and FHCRC', 0x12],
    ['every field', 0x1e],
  ] as const) {
    it(`decodes a member with ${name} followed by garbage, which fails gunzip as a whole`, () => {
      const head = Buffer.concat([member(flags), Buffer.from('garbage\n')]);
      assert.equal(inflateHead(head).toString(), TEXT);
    });
  }

  /** Lines of audit records, and lines of hashes that hardly compress (each the same at every run). */
  const audit = (i: number) => `{"RequestID":"${i}","Path":"/v1/models"}\n`;
  const hashes = (i: number) => `${createHash('sha512').update(String(i)).digest('base64')}\n`;
  const firstTwoKb = (head: Buffer) => gunzipSync(head.subarray(0, 2048), { finishFlush: constants.Z_SYNC_FLUSH }).length;

  it(`decodes the first ${SNIFF_BYTES} bytes of a 4 KiB head whose first 2 KB hold them, and no more`, () => {
    const text = Array.from({ length: 2000 }, (_, i) => audit(i)).join('');
    const head = gzipSync(text).subarray(0, 4096);
    assert.ok(firstTwoKb(head) >= SNIFF_BYTES);
    assert.equal(inflateHead(head).toString(), text.slice(0, SNIFF_BYTES));
  });

  it(`decodes the first ${SNIFF_BYTES} bytes of a 4 KiB head from all of it when its first 2 KB hold fewer, and no more`, () => {
    const text = Array.from({ length: 2000 }, (_, i) => hashes(i)).join('');
    const head = gzipSync(text).subarray(0, 4096);
    assert.ok(firstTwoKb(head) < SNIFF_BYTES);
    assert.equal(inflateHead(head).toString(), text.slice(0, SNIFF_BYTES));
  });

  it('decodes a head cut inside its header fields to nothing, as a partial inflate', () => {
    assert.equal(inflateHead(member(0x08).subarray(0, 14)).length, 0);
    assert.equal(inflateHead(member(0x04).subarray(0, 11)).length, 0);
  });

  it("throws gunzip's error for a header that is not gzip's, or a member that does not inflate", () => {
    const method = member(0);
    method[2] = 7;
    assert.throws(() => inflateHead(method), /unknown compression method/);
    const damaged = Buffer.concat([member(0x08), Buffer.from('garbage\n')]);
    damaged.fill(0xff, 20, 24);
    assert.throws(() => inflateHead(damaged), /invalid|incorrect/i);
  });
});
