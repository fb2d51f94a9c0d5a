/** `audit-ship [ship]`: validates audit lines and forwards the valid ones to Fluentd, acked. */
import { openSources } from '../input/sources.js';
import { Sender } from '../forward/sender.js';
import type { ForwardError } from '../forward/errors.js';
import { ShipPipeline, type ShipCounts } from '../ship/pipeline.js';
import { EXIT } from './exit.js';
import { senderOptionsFrom, type ForwardCliOptions } from './forward-options.js';
import { diagnosticFormatter } from './lint-format.js';
import { stderrColors } from './tty.js';
import { formatBytes, peakRssBytes } from './units.js';

export interface ShipOptions extends ForwardCliOptions {
  strict: boolean;
  maxLineBytes: number;
  flushInterval: number;
  summary: 'text' | 'json' | 'none';
  shutdownTimeout: number;
}

function summaryText(c: ShipCounts, seconds: number): string {
  const rate = Math.round(c.recordsAcked / Math.max(seconds, 1e-9));
  return [
    `audit-ship: ${c.lines} lines read: ${c.valid} valid, ${c.invalid} invalid, ${c.skipped + c.blank} skipped (${c.skipped} not audit records, ${c.blank} blank)`,
    `${c.recordsAcked} records acked in ${c.chunksAcked} of ${c.chunksSent} chunks, ${c.resends} chunks resent; ` +
      `${formatBytes(c.bytesRead)} in ${seconds.toFixed(2)} s, ${rate} records/s, peak RSS ${formatBytes(peakRssBytes())}`,
  ].join('\n');
}

export async function ship(files: string[], options: ShipOptions): Promise<void> {
  const senderOptions = senderOptionsFrom(options);
  const sources = await openSources(files);
  const sender = new Sender(senderOptions);
  const report = diagnosticFormatter('text', stderrColors());
  sender.on('connect-error', (error) => process.stderr.write(`audit-ship: ${error.message}; retrying\n`));
  let fatal: ForwardError | null = null;
  sender.on('fatal', (error) => (fatal ??= error));
  const pipeline = new ShipPipeline(sender, {
    classify: { mixed: true, strict: options.strict },
    maxLineBytes: options.maxLineBytes,
    chunkLimits: { maxRecords: options.chunkRecords, maxBytes: options.chunkBytes },
    compress: options.compress === 'gzip',
    flushIntervalMs: options.flushInterval,
    maxPendingChunks: options.window * 2,
    onInvalid: (file, line, diagnostics) => {
      for (const d of diagnostics) process.stderr.write(report({ file, line, diagnostic: d }));
    },
  });
  const started = process.hrtime.bigint();
  let failure: unknown = null;
  let signalled = false;
  let shutdownExpired: () => void = () => {};
  const deadline = new Promise<void>((resolve) => (shutdownExpired = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return shutdownExpired(); // a second signal: stop waiting for acks
    signalled = true;
    process.stderr.write(`audit-ship: ${signal}: reading stopped, waiting up to ${options.shutdownTimeout} ms for acks\n`);
    pipeline.stop();
    process.stdin.destroy(); // an idle stdin would otherwise keep the process alive
    setTimeout(shutdownExpired, options.shutdownTimeout).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const running = pipeline.run(sources).catch((error: unknown) => {
    failure ??= error;
  });
  await Promise.race([running, deadline]);
  const unacked = await sender.close(0);
  await running; // settles now: close() rejected whatever was still waiting for an ack
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const c = pipeline.counts;
  if (options.summary === 'json') {
    process.stderr.write(`${JSON.stringify({ ...c, seconds, recordsPerSecond: c.recordsAcked / seconds, peakRssBytes: peakRssBytes() })}\n`);
  } else if (options.summary === 'text') {
    process.stderr.write(`${summaryText(c, seconds)}\n`);
  }
  if (fatal) throw fatal;
  // After a signal, the pipeline's rejection is our own shutdown, not a failure to report.
  if (failure && !signalled) throw failure;
  const notAcked = c.valid - c.recordsAcked;
  if (notAcked > 0) process.stderr.write(`audit-ship: ${notAcked} valid records were not acked (${unacked.length} chunks)\n`);
  process.exitCode = notAcked > 0 ? EXIT.unacked : EXIT.ok;
}
