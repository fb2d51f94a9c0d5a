/**
 * gunzip member by member: the output is gzip(1)'s for every whole member, wherever the input's
 * chunks are cut, and each kind of damage is refused with zlib's own words, after every byte before it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { crc32, gzipSync } from 'node:zlib';
import { gunzipMembers } from '../../src/input/gunzip-members.js';

/** Text that compresses about as audit lines do, and whose every byte is checked. */
function text(seed: number, lines: number): Buffer {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(`{"RequestID":"${seed}-${i}","Body":"${randomBytes(24).toString('base64')}"}\n`);
  return Buffer.from(out.join(''));
}

/**
 * `bytes` in chunks of `size`, each copied into one of two buffers used in turn, as files are read
 * (src/input/decode.ts): a chunk kept past the one after it is overwritten, and the output shows it.
 */
async function* inTurns(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  const buffers = [Buffer.alloc(size), Buffer.alloc(size)];
  let turn = 0;
  for (let at = 0; at < bytes.length; at += size) {
    const n = bytes.copy(buffers[turn]!, 0, at, at + size);
    yield buffers[turn]!.subarray(0, n);
    turn ^= 1;
  }
}

interface Decoded {
  out: Buffer;
  error: (Error & { code?: string }) | null;
}

async function decode(bytes: Buffer, size = 65536, chunkSize = 16384): Promise<Decoded> {
  const parts: Buffer[] = [];
  try {
    for await (const chunk of gunzipMembers(inTurns(bytes, size), chunkSize)) parts.push(Buffer.from(chunk));
    return { out: Buffer.concat(parts), error: null };
  } catch (error) {
    return { out: Buffer.concat(parts), error: error as Error };
  }
}

/** A member whose header carries FNAME and a header CRC, as some writers make them. */
function memberWithNameAndHcrc(data: Buffer): Buffer {
  const plain = gzipSync(data);
  const head = Buffer.concat([Buffer.from(plain.subarray(0, 10)), Buffer.from('audit.log\0')]);
  head[3] = 0x08 | 0x02;
  const hcrc = Buffer.alloc(2);
  hcrc.writeUInt16LE(crc32(head) & 0xffff);
  return Buffer.concat([head, hcrc, plain.subarray(10)]);
}

describe('gunzipMembers', () => {
  const a = text(1, 3000);
  const b = text(2, 7);
  const c = text(3, 500);
  const three = Buffer.concat([gzipSync(a), memberWithNameAndHcrc(b), gzipSync(c)]);
  const all = Buffer.concat([a, b, c]);

  for (const size of [1, 7, 10, 18, 4096, 65536, three.length]) {
    it(`decodes three members read in chunks of ${size} bytes`, async () => {
      const { out, error } = await decode(three, size);
      assert.equal(error, null);
      assert.ok(out.equals(all), `${out.length} of ${all.length} bytes, in order`);
    });
  }

  it('decodes a member that ends exactly where a chunk does, and one whose trailer a chunk cuts', async () => {
    const first = gzipSync(a);
    for (const size of [first.length - 8, first.length - 3, first.length, first.length + 5]) {
      const { out, error } = await decode(three, size);
      assert.equal(error, null, `chunks of ${size}`);
      assert.ok(out.equals(all), `chunks of ${size}: ${out.length} of ${all.length} bytes`);
    }
  });

  it('delivers every member before garbage after them, then refuses it as zlib would', async () => {
    for (const size of [1, 4096, 65536]) {
      const { out, error } = await decode(Buffer.concat([three, Buffer.from('garbage\n')]), size);
      assert.ok(out.equals(all), `chunks of ${size}: ${out.length} of ${all.length} bytes`);
      assert.equal(error?.code, 'Z_DATA_ERROR');
      assert.equal(error?.message, 'incorrect header check');
    }
  });

  it('takes zero bytes after the last member as padding, and refuses what follows the zeros', async () => {
    const padded = await decode(Buffer.concat([three, Buffer.alloc(100_000)]), 4096);
    assert.equal(padded.error, null);
    assert.ok(padded.out.equals(all));
    const after = await decode(Buffer.concat([three, Buffer.alloc(100), Buffer.from('x')]), 4096);
    assert.ok(after.out.equals(all));
    assert.equal(after.error?.message, 'incorrect header check');
  });

  it('refuses a member whose CRC or length is wrong, after its data', async () => {
    const one = gzipSync(c);
    for (const [at, message] of [
      [one.length - 8, 'incorrect data check'],
      [one.length - 4, 'incorrect length check'],
    ] as const) {
      const before = gzipSync(a);
      const bad = Buffer.concat([before, one]);
      bad.writeUInt8(bad.readUInt8(before.length + at) ^ 0x01, before.length + at);
      const { out, error } = await decode(bad);
      assert.equal(error?.message, message);
      assert.ok(out.equals(Buffer.concat([a, c])), 'the data came before its check');
    }
  });

  it('refuses input cut short in a header, the data or the trailer as an unexpected end', async () => {
    const one = gzipSync(a);
    for (const cut of [5, 200, one.length - 3]) {
      const { out, error } = await decode(Buffer.concat([gzipSync(b), one.subarray(0, cut)]));
      assert.equal(error?.code, 'Z_BUF_ERROR', `cut at ${cut}`);
      assert.equal(error?.message, 'unexpected end of file');
      assert.ok(out.subarray(0, b.length).equals(b), 'the whole member before it delivered');
    }
  });

  it('refuses a header CRC that does not match, a method other than deflate and reserved flags', async () => {
    const hcrc = memberWithNameAndHcrc(b);
    hcrc.writeUInt8(hcrc.readUInt8(20) ^ 0xff, 20);
    const method = gzipSync(b);
    method[2] = 7;
    const flags = gzipSync(b);
    flags[3] = 0x20;
    for (const [bad, message] of [
      [hcrc, 'header crc mismatch'],
      [method, 'unknown compression method'],
      [flags, 'unknown header flags set'],
    ] as const) {
      const { out, error } = await decode(Buffer.concat([gzipSync(a), bad]));
      assert.equal(error?.message, message);
      assert.ok(out.equals(a), 'the member before it delivered');
    }
  });

  it('makes no error for a member whose data ends before its input does (a stack cost ~25 µs a file)', async (t) => {
    const prepare = Error.prepareStackTrace;
    t.after(() => (Error.prepareStackTrace = prepare));
    const stacks: string[] = [];
    Error.prepareStackTrace = (error, frames) => {
      stacks.push(String(error));
      return prepare ? prepare(error, frames) : `${String(error)}`;
    };
    const { out, error } = await decode(three);
    Error.prepareStackTrace = prepare;
    assert.equal(error, null);
    assert.equal(out.length, all.length);
    assert.deepEqual(stacks, []);
  });

  it('stops reading its input when its reader leaves early', async () => {
    let asked = 0;
    let closed = false;
    async function* counted(): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of inTurns(three, 4096)) {
          asked += 1;
          yield chunk;
        }
      } finally {
        closed = true;
      }
    }
    for await (const chunk of gunzipMembers(counted(), 16384)) {
      assert.ok(chunk.length > 0);
      break;
    }
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(closed, 'the input was closed');
    assert.ok(asked < Math.ceil(three.length / 4096), `read ${asked} chunks`);
  });
});
