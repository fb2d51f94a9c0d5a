/**
 * The live status line while shipping: an ora spinner on stderr, only when stderr is a terminal.
 * It shows records acked and the rate, and for files the percent read and the time left.
 */
import type { Ora } from 'ora';
import type { InputSource } from '../input/sources.js';
import type { ShipCounts } from '../ship/counts.js';
import type { SpoolStats } from '../spool/stats.js';

const REFRESH_MS = 250;

function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  return String(Math.round(n));
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class Progress {
  private readonly spinner: Ora | null;
  private timer: NodeJS.Timeout | null = null;
  private readonly started = performance.now();

  constructor(
    private readonly counts: ShipCounts,
    private readonly spool: SpoolStats,
    private readonly sources: readonly InputSource[],
    spinner: Ora | null = null,
  ) {
    this.spinner = spinner;
  }

  /** A status line with a spinner when `enabled`; ora (about 5 MB) is loaded only then. */
  static async create(counts: ShipCounts, spool: SpoolStats, sources: readonly InputSource[], enabled: boolean): Promise<Progress> {
    const spinner = enabled ? (await import('ora')).default({ stream: process.stderr, discardStdin: false, text: 'starting' }) : null;
    return new Progress(counts, spool, sources, spinner);
  }

  start(): void {
    if (!this.spinner) return;
    this.spinner.start();
    this.timer = setInterval(() => (this.spinner!.text = this.text()), REFRESH_MS).unref();
  }

  /** Writes a message above the spinner without tearing it. */
  message(text: string): void {
    if (!this.spinner?.isSpinning) {
      process.stderr.write(text);
      return;
    }
    this.spinner.clear();
    process.stderr.write(text);
    this.spinner.render();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.spinner?.stop();
  }

  text(): string {
    const seconds = (performance.now() - this.started) / 1000;
    const rate = this.counts.recordsAcked / Math.max(seconds, 1e-3);
    const parts = [`${compact(this.counts.lines)} lines`, `${compact(this.counts.recordsAcked)} acked`, `${compact(rate)} records/s`];
    if (this.spool.records > 0) parts.push(`${compact(this.spool.records)} in spool`);
    const share = this.shareRead(seconds);
    if (share) parts.push(`${(share.fraction * 100).toFixed(1)}%`, Number.isFinite(share.eta) ? `ETA ${clock(share.eta)}` : 'ETA --:--');
    return parts.join(', ');
  }

  /**
   * Share of the input done, when every input has a known size, and the seconds left at this
   * run's pace: what a checkpoint let it pass over counts as done, not as read in these seconds.
   */
  private shareRead(seconds: number): { fraction: number; eta: number } | null {
    let read = 0;
    let skipped = 0;
    let total = 0;
    for (const s of this.sources) {
      if (s.size === null) return null;
      read += s.bytesRead;
      skipped += s.skipped ?? 0;
      total += s.size;
    }
    if (total === 0) return null;
    const done = Math.min(total, read + skipped);
    return { fraction: done / total, eta: read > 0 ? ((total - done) * seconds) / read : Infinity };
  }
}
