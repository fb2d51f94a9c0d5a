/**
 * A cron job's --dead-letter or --checkpoint kept in the directory it ships (`--checkpoint
 * /var/log/seldon-audit/cp.json /var/log/seldon-audit/`): the first run made the file, and every
 * later one found it among the logs and stopped, "audit-ship does not write to a log it reads"
 * (exit 2). Found by a directory or a quoted glob, and holding what audit-ship writes there, such
 * a file is left out of the inputs, with a note. Named on the command line, or holding anything
 * else (a log given by mistake), it is still refused (refuseInputsAsOutputs in output-clash.ts).
 */
import { statOf } from './output-clash.js';
import { readAtMost } from './small-file.js';

export interface OwnOutput {
  option: string;
  path: string | undefined;
  /** Whether the file's first bytes are what audit-ship writes there. */
  holds: (head: string) => boolean;
}

const HEAD_BYTES = 4096;

/**
 * `files` without the outputs that a directory or glob found, and are audit-ship's own (an empty
 * file among them: made by a run with nothing to write); `left` says which, for a note.
 */
export function leaveOutOwnOutputs(
  outputs: readonly OwnOutput[],
  files: readonly string[],
  named: readonly string[],
): { files: string[]; left: string[] } {
  const own = outputs.flatMap(({ option, path, holds }) => {
    const stats = path === undefined ? undefined : statOf(path);
    if (!stats?.isFile() || (stats.size > 0 && !holds(headOf(path!)))) return [];
    return [{ option, path: path!, dev: stats.dev, ino: stats.ino }];
  });
  if (own.length === 0) return { files: [...files], left: [] };
  const sameAs = (name: string) => {
    const s = statOf(name);
    return s && own.find((o) => o.dev === s.dev && o.ino === s.ino);
  };
  const explicit = new Set(named.flatMap((n) => sameAs(n)?.path ?? []));
  const left: string[] = [];
  const kept = files.filter((file) => {
    const out = file === '-' ? undefined : sameAs(file);
    if (!out || explicit.has(out.path)) return true;
    left.push(`${file}: the ${out.option} file of this run, not a log`);
    return false;
  });
  return { files: kept, left };
}

function headOf(path: string): string {
  try {
    return readAtMost(path, HEAD_BYTES).toString('utf8');
  } catch {
    return '';
  }
}
