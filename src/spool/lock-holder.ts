/**
 * Who holds a lock (src/spool/lock.ts), and whether that process is alive: the holder as the lock
 * file names it (host, boot id, PID namespace, pid and the process's start time), and the checks
 * that tell a live holder from a dead one where a pid can be checked (this boot, this namespace).
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

export interface LockHolder {
  host: string;
  bootId: string;
  pidNamespace: string;
  pid: number;
  /** Clock ticks since boot when the process started (/proc/PID/stat field 22): unique with the pid. */
  startTime: string;
  token: string;
  beat: number;
  /**
   * The holder let the lock go and left the file in place (the spool's lock): a full disk keeps
   * the room of its replacement (see FileLock.release).
   */
  released?: true;
}

/** A lock's holder as its file names it; a bare pid for a lock written by an older audit-ship. */
export type Holder = LockHolder | { pid: number };

/** What identifies a process, the lock's token and heartbeat count aside. */
export type Identity = Omit<LockHolder, 'token' | 'beat' | 'released'>;

/** A small file's text, trimmed, or `fallback` when it cannot be read (gone, or never there). */
export function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return fallback;
  }
}

function startTimeOf(pid: number | 'self'): string | null {
  const stat = readOr(`/proc/${pid}/stat`, '');
  if (stat === '') return null;
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
}

function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return 'unknown';
  }
}

/** This process as a lock names its holder. */
export const thisProcess = (): Identity => ({
  host: hostname(),
  bootId: readOr('/proc/sys/kernel/random/boot_id', 'unknown'),
  pidNamespace: pidNamespace(),
  pid: process.pid,
  startTime: startTimeOf('self') ?? 'unknown',
});

/** The lock's holder; a bare pid for a lock written by an older audit-ship; null when unreadable. */
export function readHolder(path: string): Holder | null {
  return parseHolder(readOr(path, ''));
}

/** The lock file's text as its holder; null when it is no holder (half rewritten, or foreign). */
export function parseHolder(text: string): Holder | null {
  if (/^\d+\s*$/.test(text)) return { pid: Number(text) };
  try {
    const holder = JSON.parse(text) as LockHolder;
    return typeof holder.pid === 'number' && typeof holder.token === 'string' ? holder : null;
  } catch {
    return null; // being rewritten: read it again
  }
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** alive, dead, or unknown (in another namespace or host: only its heartbeat can tell). */
export function judge(holder: Holder, me: Identity): 'alive' | 'dead' | 'unknown' {
  if (!('token' in holder)) return pidRuns(holder.pid) ? 'unknown' : 'dead';
  if (holder.released === true) return 'dead';
  if (holder.host !== me.host || holder.bootId !== me.bootId || holder.pidNamespace !== me.pidNamespace || me.bootId === 'unknown')
    return 'unknown';
  const started = startTimeOf(holder.pid);
  if (started === null) return 'dead';
  return started === holder.startTime ? 'alive' : 'dead';
}

/** The holder as an error names it ("in use by …"). */
export function describeHolder(holder: Holder | null): string {
  if (holder === null) return 'another audit-ship';
  if (!('token' in holder)) return `another audit-ship (pid ${holder.pid})`;
  return `another audit-ship (pid ${holder.pid} on ${holder.host})`;
}
