/** Human-readable sizes and the process's own peak memory, for summaries. */

export function formatBytes(bytes: number): string {
  if (bytes < 1e3) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

/** Peak resident set size of this process so far (the kernel's high-water mark). */
/** CPU time used, user and system, by every thread of the process: so far, or since `since`. */
export function cpuSeconds(since?: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1e6;
}

export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}
