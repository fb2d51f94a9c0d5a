/**
 * What `ship` and `lint` are given, turned into the files to read: a file as it is, `-` for stdin,
 * a directory searched recursively for log files, and a glob given quoted (`'logs/**\/*.gz'`),
 * matched here so that any shell behaves the same and a backfill of more files than a command line
 * holds can be named. Files in a directory that are not logs are listed, not read.
 */
import { readdirSync, statSync, type BigIntStats, type Dirent, type Stats } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { describeSystemError, InputError } from '../errors.js';
import { printable } from '../printable.js';

/**
 * The names of log files in a directory: JSON lines, plain or gzip, rotated ones too: numbered
 * (`audit.log.1`), dated as logrotate's `dateext` names them (`audit.log-20210920`, or with its
 * `dateformat`, `audit.log-2021-09-20`), and as the kubelet names a container's (`0.log.20210920-101010`).
 */
export const LOG_FILE = /\.(log|jsonl|json|ndjson)([.-]\d[\d-]*)?(\.gz)?$|\.gz$/;

export const NOT_A_LOG = 'not a .log, .jsonl, .json, .ndjson or .gz file';

export interface Skipped {
  path: string;
  why: string;
}

export interface Expanded {
  /** Files (or `-`) to read, in order: each directory's and glob's matches sorted by path. */
  files: string[];
  /** What a directory held and is not read, for the user to see. */
  skipped: Skipped[];
  /** Globs that matched nothing. */
  unmatched: string[];
}

const GLOB_CHARS = /[*?[]/;

/**
 * What a directory entry is, a link followed to what it names: rotated logs are often links
 * (`/var/log/containers/*.log` on a Kubernetes node). A link to a directory is not followed, so
 * that a link back up the tree cannot make the search endless. Anything else (a named pipe, a
 * socket, a device) is named, for the skip note: a pipe there would hold the run until a writer came.
 */
function kindOf(entry: Dirent, path: string): 'file' | 'directory' | 'linked directory' | 'broken link' | { skip: string } {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'directory';
  if (!entry.isSymbolicLink()) return { skip: notAFile(entry, '') };
  try {
    const target = statSync(path);
    return target.isFile() ? 'file' : target.isDirectory() ? 'linked directory' : { skip: notAFile(target, 'a link to ') };
  } catch {
    return 'broken link';
  }
}

/** Why an entry that is neither a file nor a directory is skipped; a pipe named on its own is read as a stream. */
function notAFile(entry: Dirent | Stats, link: string): string {
  if (entry.isFIFO()) return `${link}a named pipe, not a file (named on its own, it is read as a stream)`;
  if (entry.isSocket()) return `${link}a socket, not a file`;
  if (entry.isCharacterDevice() || entry.isBlockDevice()) return `${link}a device, not a file`;
  return `${link}neither a file nor a directory`;
}

/**
 * A directory's entries. One that cannot be read (a root-only directory under /var/log, for a
 * shipper that is not root) is an input error, as an unreadable file is: its logs would otherwise
 * go unread with nothing to show for it (it was an internal error).
 */
function entriesOf(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    throw new InputError(`${dir}: ${describeSystemError(error)} (a directory searched for logs)`, { cause: error });
  }
}

/** Every file under `dir`, sorted by name at each level; `skip` hears of links it does not read. */
function walk(dir: string, each: (file: string) => void, skip: (skipped: Skipped) => void): void {
  for (const entry of entriesOf(dir).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(dir, entry.name);
    const kind = kindOf(entry, path);
    if (kind === 'directory') walk(path, each, skip);
    else if (kind === 'file') each(path);
    else if (kind === 'linked directory') skip({ path, why: 'a link to a directory, not followed' });
    else if (kind === 'broken link') skip({ path, why: 'a link to nothing' });
    else skip({ path, why: kind.skip });
  }
}

/** A glob as a regular expression over `/`-separated paths: `**` any depth, `*` and `?` within a name, `[…]` a class. */
export function globPattern(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) out += '\\[';
      else {
        out += `[${glob
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else out += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** The directory a glob's matches lie under: its path up to the first part with a glob character. */
function globRoot(glob: string): string {
  const parts = glob.split('/');
  const fixed: string[] = [];
  for (const part of parts) {
    if (GLOB_CHARS.test(part)) break;
    fixed.push(part);
  }
  return fixed.length === 0 ? '.' : fixed.join('/') || '/';
}

/** The file or directory at `path`, links followed, or undefined if there is none (or it may not be looked at). */
function statOf(path: string): BigIntStats | undefined {
  try {
    return statSync(path, { bigint: true });
  } catch {
    return undefined;
  }
}

function isDirectory(path: string): boolean {
  return statOf(path)?.isDirectory() === true;
}

/**
 * What a name is, links followed: the device and inode, `-` for stdin, or null if nothing is there
 * yet. `stats`: the name's, when the caller has them already.
 */
function identity(path: string, stats = path === '-' ? undefined : statOf(path)): string | null {
  if (path === '-') return '-';
  return stats === undefined ? null : `${stats.dev}:${stats.ino}`;
}

/**
 * Adds each file once: the same file named twice (a directory and a glob that overlap, a
 * `current` link beside its target, a hard link, a name given twice) would otherwise be shipped
 * twice, every record a duplicate at the server. The first name is kept, the others listed.
 */
function onceEach(result: Expanded): (path: string, stats?: BigIntStats) => void {
  const firstNamed = new Map<string, string>();
  return (path, stats) => {
    const id = identity(path, stats);
    const first = id === null ? undefined : firstNamed.get(id);
    if (first !== undefined) {
      result.skipped.push({
        path,
        why:
          first === path
            ? 'named again, read once'
            : first === '-'
              ? 'stdin named again, read once'
              : `the same file as ${first}, read once`,
      });
      return;
    }
    if (id !== null) firstNamed.set(id, path);
    result.files.push(path);
  };
}

export function expandInputs(names: readonly string[]): Expanded {
  const result: Expanded = { files: [], skipped: [], unmatched: [] };
  const add = onceEach(result);
  for (const name of names) {
    const stats = name === '-' ? undefined : statOf(name);
    if (stats?.isDirectory()) {
      walk(
        name,
        (file) => (LOG_FILE.test(file) ? add(file) : result.skipped.push({ path: file, why: NOT_A_LOG })),
        (skipped) => result.skipped.push(skipped),
      );
    } else if (name === '-' || stats !== undefined || !GLOB_CHARS.test(name)) {
      add(name, stats); // stdin, a file, or a name that does not exist (reported when opened)
    } else {
      const pattern = globPattern(name.split(sep).join('/'));
      const root = globRoot(name);
      const matches: string[] = [];
      if (isDirectory(root)) {
        walk(
          root,
          (file) => {
            const path = root === '.' ? relative('.', file) : file;
            if (pattern.test(path.split(sep).join('/'))) matches.push(path);
          },
          () => {}, // a glob's matches are what the user asked about: links it did not follow are not listed
        );
      }
      if (matches.length === 0) result.unmatched.push(name);
      for (const match of matches) add(match);
    }
  }
  return result;
}

/** The lines that tell the user what an expansion left out, each to follow `audit-ship[ lint]: `. */
export function expansionNotes(expanded: Expanded): string[] {
  return [...skippedNotes(expanded), ...unmatchedNotes(expanded)];
}

/** The files a directory held that are not logs: routine, the same every run of a cron job. */
export function skippedNotes(expanded: Expanded): string[] {
  return expanded.skipped.map((s) => `${printable(s.path)}: skipped, ${s.why}`);
}

/**
 * For a run that found no log among what it was given: how to read the files a directory held
 * under other names (`audit.txt`), as a quoted glob of the first of them; '' when there were none.
 * Said only as "named no .log … file", a directory of .txt logs left the user guessing.
 */
export function otherNamesHint(expanded: Expanded): string {
  const other = expanded.skipped.find((s) => s.why === NOT_A_LOG);
  if (!other) return '';
  const glob = join(dirname(other.path), `*${extname(other.path)}`);
  return `; a quoted glob reads files of other names: '${printable(glob)}'`;
}

/** The globs that matched nothing: perhaps a mistake. */
export function unmatchedNotes(expanded: Expanded): string[] {
  return expanded.unmatched.map((glob) => `${printable(glob)}: no file matches`);
}
