/**
 * One process per spool directory (and per checkpoint file), wherever the processes run: in one
 * PID namespace, in two containers sharing a volume, or on two hosts sharing a network file system.
 *
 * The lock is a file created exclusively, naming its holder (host, boot id, PID namespace, pid and
 * the process's start time) and rewritten every HEARTBEAT_MS. A contender decides that a holder is
 * gone in one of two ways:
 * - the holder ran on this boot, in this PID namespace: its pid must still run with the same start
 *   time, so a killed holder is taken over at once, and a reused pid (pid 1 in a container) never
 *   fools it;
 * - elsewhere (another container or host), where no pid can be checked: the lock has not been
 *   rewritten for STALE_MS by its modification time, and not during OBSERVE_MS that the contender
 *   watched it (so a clock skew between hosts cannot make a live lock look stale).
 * A lock its holder released in place (the spool's, marked `released`) is taken over at once.
 * Two contenders taking over the same stale lock are serialised by a second exclusive file. The
 * holder checks its lock on every heartbeat, and reports when someone else took it.
 *
 * proper-lockfile works the same way (an mtime heartbeat) but cannot tell a dead holder in this
 * namespace at once, and a restart after a SIGKILL would wait out the stale time every time.
 */
import { randomUUID } from '../crypto.js';
import { closeSync, existsSync, openSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fsyncDirSync } from '../durable.js';
import { describeCreateError, describeSystemError } from '../errors.js';
import { SpoolError } from './errors.js';
import { describeHolder, judge, parseHolder, readHolder, readOr, thisProcess, type Holder, type LockHolder } from './lock-holder.js';

export const LOCK_FILE = 'lock';
/** How often the holder rewrites its lock. */
export const HEARTBEAT_MS = 2000;
/** A lock not rewritten for this long (by its mtime), whose holder cannot be checked, is stale. */
export const STALE_MS = 10_000;
/** How long a contender watches such a lock without seeing a heartbeat before it takes it over. */
const OBSERVE_MS = 2 * HEARTBEAT_MS + 500;
const POLL_MS = 200;

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Locks held by this process: a second acquire of the same path is refused at once. */
const held = new Set<string>();

export class FileLock {
  private timer: NodeJS.Timeout | null = null;
  private holder: LockHolder;
  private lostHandler: (error: SpoolError) => void = () => {};
  private missingHandler: () => boolean = () => this.restore();

  private constructor(
    private readonly path: string,
    holder: LockHolder,
    /** Released, the file stays, marked so (see release()). */
    private readonly keep: boolean,
  ) {
    this.holder = holder;
    this.timer = setInterval(() => this.heartbeat(), HEARTBEAT_MS).unref();
  }

  /**
   * Takes the lock at `path` for `what` (named in errors), waiting while a holder that cannot be
   * checked might still be alive (at most about STALE_MS + OBSERVE_MS).
   */
  static async acquire(path: string, what: string, hint: string, keep = false): Promise<FileLock> {
    if (held.has(path)) throw new SpoolError(`${what} is already in use by this process`);
    const me = thisProcess();
    let watched: { text: string; since: number } | null = null;
    for (;;) {
      const token = randomUUID();
      if (tryCreate(path, { ...me, token, beat: 0 }, what)) {
        held.add(path);
        return new FileLock(path, { ...me, token, beat: 0 }, keep);
      }
      // One read per look: the holder judged, the text watched and the text a takeover removes are the same.
      const text = readOr(path, '');
      const holder = parseHolder(text);
      const verdict = holder === null ? 'unknown' : judge(holder, me);
      if (verdict === 'alive') throw inUse(what, holder, hint);
      if (verdict === 'unknown') {
        const now = Date.now();
        if (watched === null || watched.text !== text) {
          if (watched !== null) throw inUse(what, holder, hint); // it was rewritten while we watched: a heartbeat
          watched = { text, since: now };
        }
        const age = now - mtimeOf(path);
        if (now - watched.since < OBSERVE_MS || (age < STALE_MS && now - watched.since < STALE_MS + OBSERVE_MS)) {
          await pause(POLL_MS);
          continue;
        }
      }
      takeOver(path, text, what);
      watched = null;
      if (readOr(path, '') === text) await pause(POLL_MS); // another contender is at it: look again shortly
    }
  }

  /** Called when another process has taken this lock (it was judged stale): the holder must stop. */
  onLost(handler: (error: SpoolError) => void): void {
    this.lostHandler = handler;
  }

  /**
   * Called when the lock file is found deleted (by hand, or with its directory) and nobody else
   * holds it: it returns whether it made the lock again (see restore()). Without a handler, the
   * lock is made again where its directory still is.
   */
  onMissing(handler: () => boolean): void {
    this.missingHandler = handler;
  }

  /**
   * Makes the lock file again, exclusively, as at the start: false when another process made one
   * first. A deleted lock left the spool open to a second shipper; one that starts meanwhile
   * takes it, and this one then stops, as when its lock is taken.
   */
  restore(): boolean {
    return tryCreate(this.path, this.holder, this.path);
  }

  private heartbeat(): void {
    if (!existsSync(this.path) && this.missing()) return;
    const current = readHolder(this.path);
    if (current === null || !('token' in current) || current.token !== this.holder.token) {
      this.lose(`was taken by ${describeHolder(current)}`);
      return;
    }
    this.holder = { ...this.holder, beat: this.holder.beat + 1 };
    try {
      writeFileSync(this.path, JSON.stringify(this.holder));
    } catch {
      // A missed beat; the next one tries again, long before the lock could look stale.
    }
  }

  /** The lock file is gone: made again, or this process stops; true when the heartbeat is done. */
  private missing(): boolean {
    let restored: boolean;
    try {
      restored = this.missingHandler();
    } catch (error) {
      this.lose(`was deleted and cannot be made again (${(error as Error).message})`);
      return true;
    }
    return restored;
  }

  private lose(what: string): void {
    this.stopBeating();
    held.delete(this.path);
    this.lostHandler(new SpoolError(`the lock ${this.path} ${what}: this process stops so that two never share it`));
  }

  private stopBeating(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** This process holds the lock: not released, and not taken by another process (judged dead) since. */
  get held(): boolean {
    return held.has(this.path);
  }

  release(): void {
    this.stopBeating();
    if (!held.delete(this.path)) return;
    const current = readHolder(this.path);
    if (current === null || !('token' in current) || current.token !== this.holder.token) return;
    // Kept, the file holds its room on the disk for the next holder: on a disk that filled since,
    // a new lock file could not be written, and the spool that held the disk could not be drained
    // or purged. The stale one is removed first when it is taken over (takeOver()).
    if (this.keep && markReleased(this.path, this.holder)) return;
    try {
      unlinkSync(this.path);
      fsyncDirSync(dirname(this.path));
    } catch {
      // Already gone: nothing to release.
    }
  }
}

/** Rewrites the lock as released, in place; false when that failed (the caller removes it). */
function markReleased(path: string, holder: LockHolder): boolean {
  try {
    writeFileSync(path, JSON.stringify({ ...holder, released: true }));
    return true;
  } catch {
    return false;
  }
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function inUse(what: string, holder: Holder | null, hint: string): SpoolError {
  return new SpoolError(`${what} is in use by ${describeHolder(holder)}; ${hint}`);
}

/**
 * Creates the lock file exclusively, naming `holder` in it (null: empty); false when it exists. A
 * file that could not be written whole (a full disk) is removed again: left empty, it named no
 * holder, and every later contender waited out the stale time before it could take it over.
 */
function tryCreate(path: string, holder: LockHolder | null, what: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new SpoolError(`cannot lock ${what}: ${describeCreateError(error, path)}`, { cause: error });
  }
  try {
    if (holder) writeSync(fd, JSON.stringify(holder));
  } catch (error) {
    unlinkQuietly(path);
    throw new SpoolError(`cannot lock ${what}: cannot write ${path}: ${describeSystemError(error)}`, { cause: error });
  } finally {
    closeSync(fd);
  }
  fsyncDirSync(dirname(path));
  return true;
}

/**
 * Removes a stale lock, unless it changed since it was judged (a racing contender took it). A
 * second exclusive file makes the check and the removal one step for every contender.
 */
function takeOver(path: string, staleText: string, what: string): void {
  const guard = join(dirname(path), `.${basename(path)}.takeover`);
  // Empty: only its name and its age matter, and an empty file needs no room on a full disk,
  // where removing the stale lock then frees the room its replacement takes.
  if (!tryCreate(guard, null, what)) {
    // Another contender is taking over; a guard left by one that died is removed after STALE_MS.
    if (Date.now() - mtimeOf(guard) > STALE_MS) unlinkQuietly(guard);
    return;
  }
  try {
    if (readOr(path, '') === staleText) unlinkQuietly(path);
  } finally {
    unlinkQuietly(guard);
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already.
  }
}

/** Who holds the spool's lock, for `spool status`; null when nobody does. */
export function lockHolder(dir: string): { pid: number; host: string | null } | null {
  const holder = readHolder(join(dir, LOCK_FILE));
  if (holder === null || ('released' in holder && holder.released === true)) return null;
  return { pid: holder.pid, host: 'host' in holder ? holder.host : null };
}

/** The spool directory's lock. */
export function lockSpool(dir: string): Promise<FileLock> {
  return FileLock.acquire(join(dir, LOCK_FILE), `the spool ${dir}`, 'give each shipper its own --spool-dir', true);
}
