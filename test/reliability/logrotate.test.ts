/**
 * A cron job, `audit-ship --checkpoint FILE DIR`, over a log that logrotate rotates between its
 * runs, in each of logrotate's common modes: every record is delivered exactly once. A rotated
 * file is found under its new name by inode (renamed), by its first 4 KiB (copied: copytruncate)
 * or by its first 4 KiB decompressed (compressed), and resumed where its entry stopped; before,
 * a compressed or copied rotation was shipped again from its start. Built CLI into `audit-ship receive`.
 */
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, existsSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { EXIT } from '../../src/cli/exit.js';
import { runCli } from '../helpers/cli.js';
import { idOf, lines } from '../helpers/ledger.js';
import { cronJob } from '../helpers/checkpoint.js';
import { receivers } from '../helpers/receive-cli.js';

const receiver = receivers();

/** Replaces `from` with its gzip at `to`, as logrotate's compress does (a new file, a new inode). */
function gzip(from: string, to: string): void {
  writeFileSync(to, gzipSync(readFileSync(from)));
  rmSync(from);
}

/** Rotates `log` once, on day `day`, as logrotate does in one mode. */
type Rotate = (log: string, day: number) => void;

/** Numbered rotations (FILE.1, FILE.2.gz, ...), shifted up, then FILE moved or copied to FILE.1. */
function numbered({ copy = false, compress = false, delay = false }): Rotate {
  return (log, day) => {
    for (let n = day; n >= 1; n--) {
      const [plain, gz] = [`${log}.${n}`, `${log}.${n}.gz`];
      if (existsSync(gz)) renameSync(gz, `${log}.${n + 1}.gz`);
      else if (existsSync(plain) && compress) gzip(plain, `${log}.${n + 1}.gz`);
      else if (existsSync(plain)) renameSync(plain, `${log}.${n + 1}`);
    }
    if (copy) {
      copyFileSync(log, `${log}.1`);
      truncateSync(log, 0);
    } else {
      renameSync(log, `${log}.1`);
    }
    if (compress && !delay) gzip(`${log}.1`, `${log}.1.gz`);
  };
}

/** dateext: FILE moved to FILE-YYYYMMDD, compressed at once or not. */
function dated(compress: boolean): Rotate {
  return (log, day) => {
    const to = `${log}-202109${String(20 + day)}`;
    renameSync(log, to);
    if (compress) gzip(to, `${to}.gz`);
  };
}

const MODES: Record<string, Rotate> = {
  create: numbered({}),
  'create, compress': numbered({ compress: true }),
  'create, compress, delaycompress': numbered({ compress: true, delay: true }),
  'copytruncate, compress, delaycompress': numbered({ copy: true, compress: true, delay: true }),
  dateext: dated(false),
  'dateext, compress': dated(true),
};

describe('cron runs of --checkpoint over a directory logrotate rotates', () => {
  for (const [mode, rotate] of Object.entries(MODES)) {
    it(`${mode}: every record exactly once`, async () => {
      const r = await receiver();
      const { dir, args } = cronJob(r.port);
      const log = join(dir, 'audit.log');
      const written: string[] = [];
      const write = (count: number, seed: number) => {
        const part = lines(count, seed);
        appendFileSync(log, part.join(''));
        written.push(...part);
      };
      let seed = 840;
      for (let day = 1; day <= 3; day++) {
        write(30, seed++);
        const shipped = await runCli(args);
        assert.equal(shipped.code, EXIT.ok, shipped.stderr);
        // Lines written after the run, then the rotation, then the new file's first lines.
        write(20, seed++);
        rotate(log, day);
        write(10, seed++);
        const after = await runCli(args);
        assert.equal(after.code, EXIT.ok, after.stderr);
      }
      const ids = r.requestIds();
      assert.equal(ids.length, written.length, 'no record delivered twice');
      assert.deepEqual(ids.sort(), written.map(idOf).sort(), 'every record delivered once');
    });
  }
});
