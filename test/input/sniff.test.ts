/** What the first bytes of an input say it holds: text, gzip, or something else, with zero padding told from binary data. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sniff } from '../../src/input/sniff.js';

const RECORD = Buffer.from('{"RequestID":"ce5f10a2-c874-4115-881e-70e7c5e8eb3a","Host":"h"}\n');
const kind = (...parts: (Buffer | string)[]) => sniff(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)))).kind;

describe('sniff', () => {
  it('takes text with a run of zero padding in it (a crash) for text', () => {
    assert.equal(kind(RECORD, Buffer.alloc(1000), RECORD), 'text');
    assert.equal(kind(RECORD, Buffer.alloc(64), RECORD), 'text');
    assert.equal(kind(RECORD, Buffer.alloc(3)), 'text', 'a run cut by the end of the head may go on');
    assert.equal(kind(Buffer.alloc(500), RECORD), 'text');
  });

  it('leaves nothing but NULs (a crash zeroed the first blocks) to be judged by what follows them', () => {
    assert.equal(kind(Buffer.alloc(4096)), 'zeros');
    assert.equal(kind(Buffer.alloc(2)), 'zeros');
  });

  it('takes NULs that are no padding for binary data', () => {
    assert.equal(kind(RECORD, Buffer.alloc(63), RECORD), 'not-text');
    assert.equal(kind('ab\0cd\n'), 'not-text');
    assert.equal(kind(Buffer.from('{"Host":"h"}\n', 'utf16le')), 'not-text', 'UTF-16 without a byte order mark');
    assert.equal(
      kind(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0])),
      'not-text',
      'an ELF header',
    );
    assert.equal(kind(RECORD, Buffer.alloc(100), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])), 'not-text', 'control bytes beside padding');
  });

  it('takes empty input and gzip for what they are', () => {
    assert.equal(kind(''), 'text');
    assert.equal(kind(Buffer.from([0x1f, 0x8b, 8, 0])), 'gzip');
  });
});
