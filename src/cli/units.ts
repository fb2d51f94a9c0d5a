/** The process's own CPU time and peak memory, for summaries (sizes as a person reads them: src/size.ts). */

/** CPU time used, user and system, by every thread of the process: so far, or since `since`. */
export function cpuSeconds(since?: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1e6;
}

/** Peak resident set size of this process so far (the kernel's high-water mark). */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}
