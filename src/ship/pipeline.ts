/**
 * input → lines → validate → batch → forward → ack. Valid records are appended to the current
 * chunk; a full chunk (or one older than the flush interval, for a live tail) goes to the sender.
 * When more chunks wait for acks than the window allows twice over, reading stops until acks
 * come back, so backpressure reaches the input and memory stays bounded.
 */
import { splitLines, type Line } from '../input/lines.js';
import { totalBytesRead, type InputSource } from '../input/sources.js';
import { ChunkBuilder, type Chunk, type ChunkLimits } from '../forward/chunk.js';
import { EventTime } from '../forward/event-time.js';
import type { Sender } from '../forward/sender.js';
import { diagnostic, type Diagnostic } from '../schema/diagnostic.js';
import { judgeLine, type ClassifyOptions } from '../schema/line.js';

export interface PipelineOptions {
  classify: ClassifyOptions;
  maxLineBytes: number;
  chunkLimits: ChunkLimits;
  compress: boolean;
  flushIntervalMs: number;
  /** Chunks handed to the sender and not yet acked, at most, before reading pauses. */
  maxPendingChunks: number;
  /** Each invalid line, with its diagnostics; nothing is dropped silently. */
  onInvalid: (source: string, line: number, diagnostics: Diagnostic[]) => void;
}

export interface ShipCounts {
  lines: number;
  valid: number;
  invalid: number;
  skipped: number;
  blank: number;
  chunksSent: number;
  recordsAcked: number;
  chunksAcked: number;
  resends: number;
  bytesRead: number;
}

export class ShipPipeline {
  readonly counts: ShipCounts = {
    lines: 0, valid: 0, invalid: 0, skipped: 0, blank: 0, chunksSent: 0, recordsAcked: 0, chunksAcked: 0, resends: 0, bytesRead: 0,
  };
  private readonly builder: ChunkBuilder;
  private readonly judgeOptions: ClassifyOptions & { maxLineBytes: number };
  private readonly pending: Promise<void>[] = [];
  private failure: Error | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private stopRequested: (() => void) | null = null;
  private readonly stopped = new Promise<'stop'>((resolve) => (this.stopRequested = () => resolve('stop')));

  constructor(
    private readonly sender: Sender,
    private readonly options: PipelineOptions,
  ) {
    this.builder = new ChunkBuilder(options.chunkLimits, options.compress);
    this.judgeOptions = { ...options.classify, maxLineBytes: options.maxLineBytes };
    sender.on('resend', () => this.counts.resends++);
  }

  /** Ships every source in order; rejects with the sender's fatal error, if one occurs. */
  async run(sources: readonly InputSource[]): Promise<void> {
    try {
      for (const source of sources) {
        if (!(await this.readSource(source))) break;
      }
      this.flush();
      await Promise.all(this.pending);
    } finally {
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.counts.bytesRead = totalBytesRead(sources);
    }
    if (this.failure) throw this.failure;
  }

  /**
   * Stops reading at once, even while a read is pending on an idle stdin; what was read is still
   * sent, and run() resolves once it is acked.
   */
  stop(): void {
    this.stopRequested?.();
  }

  /** Reads one source to its end; false when stop() cut it short. */
  private async readSource(source: InputSource): Promise<boolean> {
    const batches = splitLines(source.chunks(), this.options)[Symbol.asyncIterator]();
    for (;;) {
      const next = await Promise.race([batches.next(), this.stopped]);
      if (next === 'stop') return false;
      if (next.done) return true;
      for (const line of next.value) this.accept(source.name, line);
      await this.relieve();
    }
  }

  private accept(source: string, line: Line): void {
    const c = this.counts;
    c.lines++;
    const verdict = judgeLine(line, this.judgeOptions);
    switch (verdict.kind) {
      case 'blank':
        c.blank++;
        return;
      case 'skipped':
        c.skipped++;
        return;
      case 'rejected':
        c.invalid++;
        this.options.onInvalid(source, line.number, verdict.diagnostics);
        return;
      case 'record':
        if (!verdict.valid) {
          c.invalid++;
          this.options.onInvalid(source, line.number, verdict.diagnostics);
          return;
        }
        if (!EventTime.representable(verdict.seconds, verdict.nanoseconds)) {
          c.invalid++;
          this.options.onInvalid(source, line.number, [diagnostic('time-out-of-range', 'Timestamp',
            'Fluentd event times run from 1970-01-01 to 2106-02-07 UTC')]);
          return;
        }
        c.valid++;
        this.builder.append(verdict.seconds, verdict.nanoseconds, verdict.record);
        if (this.builder.full) this.flush();
        else this.flushTimer ??= setTimeout(() => this.flush(), this.options.flushIntervalMs);
    }
  }

  /** Hands the chunk being built to the sender. */
  private flush(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    const chunk = this.builder.take();
    if (chunk) this.dispatch(chunk);
  }

  private dispatch(chunk: Chunk): void {
    this.counts.chunksSent++;
    this.pending.push(this.sender.send(chunk).then(
      () => {
        this.counts.recordsAcked += chunk.count;
        this.counts.chunksAcked++;
      },
      (error: Error) => {
        this.failure ??= error;
      },
    ));
  }

  /** Waits for acks while too many chunks are outstanding; stops reading after a fatal error. */
  private async relieve(): Promise<void> {
    while (this.pending.length > this.options.maxPendingChunks) await this.pending.shift();
    if (this.failure) throw this.failure;
  }
}
