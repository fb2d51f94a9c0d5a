/**
 * A number of bytes as a person reads it in a message or a summary: "512 B", "520.2 kB", "1.0 MB",
 * "4.59 GB" (decimal units, as `ls -h --si` and the summaries' rates).
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1e3) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}
