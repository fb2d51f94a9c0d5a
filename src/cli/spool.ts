/**
 * `audit-ship spool status|verify|purge`. status and verify only read, so they work while a
 * shipper runs; purge takes the spool's lock, so it never deletes under a running shipper.
 */
import { rmSync, statfsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDirSync } from '../durable.js';
import { describeSystemError, UsageError } from '../errors.js';
import { lockHolder, lockSpool } from '../spool/lock.js';
import { ACKS_SUFFIX, DAMAGED_DIR, inspectSegmentIfPresent, listDamaged, listSegments } from '../spool/segments.js';
import { EXIT } from './exit.js';
import { formatBytes } from '../size.js';
import { count, inNumber } from '../plural.js';

export interface SpoolCommandOptions {
  spoolDir: string;
  json: boolean;
  /** purge: delete records that were never delivered. */
  yes: boolean;
}

interface SpoolReport {
  dir: string;
  segments: number;
  chunks: number;
  records: number;
  /** Records waiting, by the Fluentd tag they go under. */
  tags: Record<string, number>;
  /** Records of chunks an older audit-ship spooled without a tag: sent under the next run's --tag. */
  untagged: number;
  bytes: number;
  damaged: { segment: string; offset: number; length: number; reason: string }[];
  setAside: { files: number; bytes: number };
  lockedBy: { pid: number; host: string | null } | null;
  /** The spool's file system: bytes free to this user, and its size (null where statfs fails). */
  disk: { free: number; size: number } | null;
}

/**
 * The room on the spool's file system: what an operator asks first when its writes wait for room
 * (`audit_ship_disk_full`). A quota or a file size limit is not what statfs shows.
 */
function diskOf(dir: string): SpoolReport['disk'] {
  try {
    const fs = statfsSync(dir);
    return { free: fs.bavail * fs.bsize, size: fs.blocks * fs.bsize };
  } catch {
    return null;
  }
}

/** The spool's segments; a directory that is not there, or not one, is a usage error for every command. */
function segmentsOf(dir: string): ReturnType<typeof listSegments> {
  try {
    return listSegments(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`no spool at ${dir}`);
    // A file in its place (a --spool-dir mistyped for a log) was once an internal error.
    if (code === 'ENOTDIR') throw new UsageError(`no spool at ${dir}: not a directory`);
    if (code !== undefined) throw new UsageError(`cannot read the spool ${dir}: ${describeSystemError(error)}`, { cause: error });
    throw error;
  }
}

function inspect(dir: string): SpoolReport {
  const segments = segmentsOf(dir);
  const report: SpoolReport = {
    dir,
    segments: 0,
    chunks: 0,
    records: 0,
    tags: {},
    untagged: 0,
    bytes: 0,
    damaged: [],
    setAside: listDamaged(dir),
    lockedBy: lockHolder(dir),
    disk: diskOf(dir),
  };
  for (const file of segments) {
    // A running shipper deletes a segment once its chunks are acked, maybe since the listing.
    const segment = inspectSegmentIfPresent(file);
    if (!segment) continue;
    report.segments++;
    report.bytes += file.size;
    for (const f of segment.frames) {
      if (segment.acked.has(f.id)) continue;
      report.chunks++;
      report.records += f.count;
      if (f.tag === null) report.untagged += f.count;
      else report.tags[f.tag] = (report.tags[f.tag] ?? 0) + f.count;
    }
    for (const d of segment.damage) report.damaged.push({ segment: file.path, ...d });
  }
  return report;
}

function reportText(r: SpoolReport): string {
  const lines = [
    `spool ${r.dir}${r.lockedBy ? ` (in use by pid ${r.lockedBy.pid}${r.lockedBy.host ? ` on ${r.lockedBy.host}` : ''})` : ''}`,
    `${count(r.records, 'record')} in ${count(r.chunks, 'chunk')} waiting to be sent, ${count(r.segments, 'segment')}, ${formatBytes(r.bytes)}`,
  ];
  const tags = Object.entries(r.tags).map(([tag, n]) => `${tag} (${n})`);
  if (r.untagged > 0) tags.push(`the next run's --tag (${r.untagged})`);
  if (tags.length > 0) lines.push(`under ${tags.join(', ')}`);
  if (r.disk) lines.push(`disk: ${formatBytes(r.disk.free)} free of ${formatBytes(r.disk.size)}`);
  if (r.setAside.files > 0)
    lines.push(
      `${count(r.setAside.files, 'damaged range')} set aside earlier in ${join(r.dir, DAMAGED_DIR)} (${formatBytes(r.setAside.bytes)})`,
    );
  for (const d of r.damaged) lines.push(`damaged: ${d.segment} at byte ${d.offset}: ${d.length} bytes, ${d.reason}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Deletes everything in the spool. Records in it were never delivered, and a purge is the one way
 * audit-ship loses them on purpose: without `yes`, a spool that holds any (or damaged ranges set
 * aside) is left as it is, and the error says what it holds.
 */
async function purge(dir: string, yes: boolean): Promise<{ segments: number; records: number }> {
  // Said as status and verify say it (exit 2), where the lock's "cannot lock the spool" was exit 1.
  segmentsOf(dir);
  const lock = await lockSpool(dir);
  try {
    const report = inspect(dir);
    if (!yes && (report.records > 0 || report.setAside.files > 0)) {
      const held = [
        ...(report.records > 0 ? [`${count(report.records, 'record')} never delivered`] : []),
        ...(report.setAside.files > 0 ? [`${count(report.setAside.files, 'damaged range')} set aside`] : []),
      ];
      throw new UsageError(
        `the spool ${dir} holds ${held.join(' and ')}: nothing deleted; \`audit-ship spool purge --yes\` deletes them (a run of audit-ship with this spool sends the records first)`,
      );
    }
    for (const file of listSegments(dir)) {
      unlinkSync(file.path);
      rmSync(`${file.path}${ACKS_SUFFIX}`, { force: true });
    }
    rmSync(join(dir, DAMAGED_DIR), { recursive: true, force: true });
    fsyncDirSync(dir);
    return { segments: report.segments, records: report.records };
  } finally {
    lock.release();
  }
}

/** `action` is one of the three: commander checks it against the command's choices. */
export async function spoolCommand(action: 'status' | 'verify' | 'purge', options: SpoolCommandOptions): Promise<void> {
  const dir = options.spoolDir;
  const out = (value: object, text: string) => process.stdout.write(options.json ? `${JSON.stringify(value)}\n` : text);
  switch (action) {
    case 'status': {
      const report = inspect(dir);
      // The ranges themselves are verify's to list; status says that there are some.
      const found = report.damaged.length;
      const text = reportText({ ...report, damaged: [] });
      const damaged =
        found > 0
          ? `${count(found, 'damaged range')} found (\`spool verify\` lists ${inNumber(found, 'it', 'them')}; the next run sets ${inNumber(found, 'it', 'them')} aside)\n`
          : '';
      out({ ...report, damaged: found }, `${text}${damaged}`);
      return;
    }
    case 'verify': {
      const report = inspect(dir);
      out(report, `${reportText(report)}${report.damaged.length === 0 ? "every chunk's checksum is good\n" : ''}`);
      if (report.damaged.length > 0) process.exitCode = EXIT.failure;
      return;
    }
    case 'purge': {
      const purged = await purge(dir, options.yes);
      out(purged, `purged ${count(purged.records, 'record')} in ${count(purged.segments, 'segment')} from ${dir}\n`);
      return;
    }
  }
}
