/**
 * What `lint` is given, turned into the files to read: a file as it is, `-` for stdin, a directory
 * searched recursively for log files, and a glob given quoted (`'logs/**\/*.gz'`), matched here so
 * that CI on any shell behaves the same. Files in a directory that are not logs are listed, not read.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** The names of log files in a directory: JSON lines, plain or gzip, rotated ones (`audit.log.1`) too. */
export const LOG_FILE = /\.(log|jsonl|json|ndjson)(\.\d+)?(\.gz)?$|\.gz$/;

export interface Expanded {
  /** Files (or `-`) to read, in order: each directory's and glob's matches sorted by path. */
  files: string[];
  /** Files found in a directory and not read, for the user to see. */
  skipped: string[];
  /** Globs that matched nothing. */
  unmatched: string[];
}

const GLOB_CHARS = /[*?[]/;

function walk(dir: string, each: (file: string) => void): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, each);
    else if (entry.isFile()) each(path);
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

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

export function expandInputs(names: readonly string[]): Expanded {
  const result: Expanded = { files: [], skipped: [], unmatched: [] };
  for (const name of names) {
    if (name === '-' || (!isDirectory(name) && (exists(name) || !GLOB_CHARS.test(name)))) {
      result.files.push(name); // stdin, a file, or a name that does not exist (reported when opened)
    } else if (isDirectory(name)) {
      walk(name, (file) => (LOG_FILE.test(file) ? result.files : result.skipped).push(file));
    } else {
      const pattern = globPattern(name.split(sep).join('/'));
      const root = globRoot(name);
      const matches: string[] = [];
      if (isDirectory(root)) {
        walk(root, (file) => {
          const path = root === '.' ? relative('.', file) : file;
          if (pattern.test(path.split(sep).join('/'))) matches.push(path);
        });
      }
      if (matches.length === 0) result.unmatched.push(name);
      result.files.push(...matches);
    }
  }
  return result;
}
