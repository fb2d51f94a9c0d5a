/**
 * What a run tells the user of its link and its spool while it runs, and the counts that go with
 * it: retries and resends, a full disk under the spool, the records an earlier run left, files
 * deleted under it. Apart from ShipRun (src/ship/run.ts), which decides what each of these does
 * to the run.
 */
import { statfsSync } from 'node:fs';
import type { Sender } from '../forward/sender.js';
import { count, inNumber, was } from '../plural.js';
import { formatBytes } from '../size.js';
import { span } from '../span.js';
import type { InputSource } from '../input/sources.js';
import type { SpoolWriteError } from '../spool/errors.js';
import type { Spool } from '../spool/spool.js';
import type { FullDiskWait } from '../full-disk.js';
import type { ShipCounts } from './counts.js';
import type { DeadLetterFile, LetterWait } from './dead-letter.js';

export type Note = (text: string) => void;

/** How long a run waits for an ack by default once a finite input has ended (--retry-timeout). */
export const DEFAULT_RETRY_TIMEOUT_MS = 120_000;

/**
 * How long one fill of the disk is waited out before the run gives up on it: --retry-timeout; by
 * default 2 minutes when every input is a file, for as long as it takes (0) for a live tail.
 */
export function fullDiskLimitMs(retryTimeout: number | undefined, sources: readonly InputSource[]): number {
  return retryTimeout ?? (filesOnly(sources) ? DEFAULT_RETRY_TIMEOUT_MS : 0);
}

/** Every input is a file, read to an end known from the start: no live tail, no pipe. */
export function filesOnly(sources: readonly InputSource[]): boolean {
  return sources.every((s) => !s.live && s.size !== null);
}

function giveUpPhrase(limitMs: number): string {
  return limitMs > 0 ? `giving up after ${span(limitMs)} (--retry-timeout)` : 'for as long as it takes (--retry-timeout 0)';
}

/**
 * A --checkpoint save that finds the disk full waits for room as the spool's writes do, and for as
 * long: with the spool on the same disk, the save that followed the spool's wait found the room
 * taken again and stopped the backfill at once (exit 4). Reading waits meanwhile (the spool writer
 * holds at most a few chunks unsaved), so the checkpoint never trails far.
 */
export function checkpointFullWait(limitMs: number, note: Note): FullDiskWait {
  return {
    onFull: (error) =>
      note(`audit-ship: ${error.message}; reading waits, and the save is tried again once a second, ${giveUpPhrase(limitMs)}\n`),
    limitMs,
  };
}

/** Invalid lines that find the disk full wait in memory for room, as the spool's writes do (src/ship/dead-letter.ts). */
export function deadLetterFullWait(limitMs: number, note: Note): LetterWait {
  return {
    onFull: (error, waiting) =>
      note(
        `audit-ship: ${error.message}; ${count(waiting, 'invalid line')} ${inNumber(waiting, 'waits', 'wait')} in memory and reading waits, tried again once a second, ${giveUpPhrase(limitMs)}\n`,
      ),
    limitMs,
  };
}

/** Counts resends and retries and says what the link does. */
export function tellLink(sender: Sender, counts: ShipCounts, note: Note): void {
  sender.on('resend', (chunk) => {
    counts.resends++;
    counts.recordsResent += chunk.count;
  });
  sender.on('connection-lost', (error, resending) => {
    note(`audit-ship: ${error.message}; reconnecting${resending > 0 ? `, ${count(resending, 'chunk')} to resend` : ''}\n`);
  });
  sender.on('connect-error', (error) => {
    counts.connectRetries++;
    note(`audit-ship: ${error.message}; retrying\n`);
  });
  sender.on('refused', (error, link, retryMs) => {
    note(
      `audit-ship: ${error.message} (${error.code}); passed over while other servers may take the chunks, and tried again in ${span(retryMs)}\n`,
    );
  });
}

/**
 * After the disk's first fill and the room that followed, how long each later fill goes unsaid:
 * a spool that fills the rest of its disk fills it again at almost every chunk, and a pair of
 * lines a chunk (several a second) buried everything else on stderr and in a pod's log.
 */
const SPACE_QUIET_MS = 30_000;

/**
 * A full disk under the spool: the write is retried (acks free room) and the user is told, once
 * for a fill and once for the room after it; fills within SPACE_QUIET_MS of that are counted and
 * said together. After `limitMs` (0: never) of one fill `giveUp` is called with the write's
 * error. Returns a function that says the fills not yet said, for the end of the run.
 */
export function watchSpace(
  spool: Spool,
  where: { spoolDir: string; chunkBytes: number },
  limitMs: number,
  note: Note,
  giveUp: (error: SpoolWriteError) => void,
): () => void {
  let timer: NodeJS.Timeout | null = null;
  // Timed on the monotonic clock, as --retry-timeout is: a step of the wall clock is not time passing.
  let quietUntil = 0;
  let unsaid = 0;
  let full = false;
  let summary: NodeJS.Timeout | null = null;
  const sayUnsaid = () => {
    if (summary) clearTimeout(summary);
    summary = null;
    if (unsaid === 0) return;
    const now = full ? '; it is full now' : '';
    note(
      `audit-ship: the disk under the spool filled ${inNumber(unsaid, 'once more', `${unsaid} more times`)} since; each time reading waited until room was freed${now}\n`,
    );
    unsaid = 0;
  };
  spool.onSpaceChange((error) => {
    if (timer) clearTimeout(timer);
    timer = null;
    full = error !== null;
    const unheard = performance.now() < quietUntil;
    if (!error) {
      if (unheard) return;
      quietUntil = performance.now() + SPACE_QUIET_MS;
      return note(`audit-ship: the spool has room again; reading goes on\n`);
    }
    if (limitMs > 0) timer = setTimeout(() => giveUp(error), limitMs).unref();
    if (unheard) {
      // Said together once the quiet time is over (or at the end of the run).
      if (unsaid++ === 0) summary = setTimeout(sayUnsaid, quietUntil - performance.now()).unref();
      return;
    }
    sayUnsaid();
    const freedBy = spool.stats.chunks > 0 ? 'as acks free room' : noAckToCome(where, error);
    note(`audit-ship: ${error.message}; reading waits, and the write is retried ${freedBy}, ${giveUpPhrase(limitMs)}\n`);
  });
  return sayUnsaid;
}

/**
 * With nothing in the spool awaiting an ack, no ack can make room (a disk with less room than one
 * chunk): only room made by others on the disk lets the write through, and the user must know it.
 */
function noAckToCome(where: { spoolDir: string; chunkBytes: number }, error: SpoolWriteError): string {
  let free = '';
  // A quota or a file size limit is not what statfs shows.
  if (error.errno === 'ENOSPC') {
    try {
      const fs = statfsSync(where.spoolDir);
      free = `${formatBytes(fs.bavail * fs.bsize)} free there; `;
    } catch {
      // Only a detail of the message.
    }
  }
  const chunk = `${free}a chunk takes up to ${formatBytes(where.chunkBytes)}, --chunk-bytes`;
  return `once room is made on the disk: the spool holds nothing awaiting an ack, so no ack will free any (${chunk})`;
}

/** What the spool held when the run started: an earlier run's records, and ranges set aside as damaged. */
export function tellSpoolAtStart(spool: Spool, spoolDir: string, tag: string, info: Note, note: Note): void {
  const { stats } = spool;
  if (stats.recoveredChunks > 0) {
    const records = stats.recoveredRecords;
    // Sent under the tag they were read with, not this run's: said when that differs.
    const others = [...spool.recoveredTags].filter(([t]) => t !== tag).map(([t, n]) => `${t} (${n})`);
    const under = others.length > 0 ? `, under the tag they were read with: ${others.join(', ')}` : '';
    info(
      `audit-ship: ${count(records, 'record')} left in the spool by an earlier run ${inNumber(records, 'is', 'are')} sent first${under}\n`,
    );
  }
  if (stats.damagedRanges > 0) {
    const ranges = count(stats.damagedRanges, 'torn or corrupt spool range');
    const lost =
      stats.lostRanges > 0
        ? `; ${inNumber(stats.lostRanges, 'one lay', `${stats.lostRanges} lay`)} between good chunks: the records in ${inNumber(stats.lostRanges, 'it', 'them')} are lost`
        : '';
    const left = stats.damageLeftInPlace;
    const where =
      left === 0
        ? `${was(stats.damagedRanges)} set aside in ${spoolDir}/damaged`
        : `found; no room on the disk to set ${inNumber(left, 'it', `${left} of them`)} aside in ${spoolDir}/damaged: skipped, and left in ${inNumber(left, 'its segment', 'their segments')} (deleted with the rest once acked; a later start sets aside what is still there, and counts it again)`;
    note(`audit-ship: ${ranges} (${count(stats.damagedBytes, 'byte')}) ${where}${lost}\n`);
  }
}

/**
 * The spool's files deleted or changed under the run by something other than audit-ship: said when
 * the directory or its lock is made again, and once for each segment whose chunks were lost with it
 * (once for those deleted, once for those found changed).
 */
export function tellSpoolDeleted(spool: Spool, spoolDir: string, note: Note): void {
  spool.onRemade((what) => {
    const deleted =
      what === 'lock'
        ? `the spool's lock ${spoolDir}/lock was deleted while this run held it`
        : `the spool ${spoolDir} was deleted while this run used it`;
    note(`audit-ship: ${deleted}, by something other than audit-ship; made again, and shipping goes on\n`);
  });
  const told = new Set<string>();
  spool.onVanished((segment, why) => {
    if (told.has(`${why} ${segment}`)) return;
    told.add(`${why} ${segment}`);
    note(
      why === 'gone'
        ? `audit-ship: the spool file ${segment} is gone, deleted by something other than audit-ship: the records in it not yet acked are lost (counted at the end)\n`
        : `audit-ship: the spool file ${segment} was changed since audit-ship wrote it (a person, a program or the disk): a chunk read back from it fails its checksum, and its records are lost, not sent (counted at the end)\n`,
    );
  });
}

/** The --dead-letter file deleted or moved away under the run: said, as it is made again. */
export function tellDeadLetterRemade(deadLetter: DeadLetterFile, path: string, note: Note): void {
  deadLetter.onRemade((gone) =>
    note(
      gone === 'deleted'
        ? `audit-ship: the --dead-letter file ${path} was deleted while in use, by something other than audit-ship; made again, and invalid lines go on into it\n`
        : `audit-ship: the --dead-letter file ${path} was moved away while in use (rotated?); invalid lines go on into ${path} (the one being written then is in both files)\n`,
    ),
  );
}
