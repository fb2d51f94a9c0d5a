/**
 * verdict → batch: each line read is judged, counted in exactly one place, and a valid record that
 * is new and within the time bounds is written into the chunk being built (with the pod it came
 * from, under --kubernetes-metadata). The reading loop around it is src/ship/pipeline.ts.
 */
import { kubectlPayloadOffset } from '../input/kubectl-prefix.js';
import type { Line } from '../input/lines.js';
import { describePadding, splitAtPadding, type Padded } from '../input/nul-padding.js';
import type { InputSource } from '../input/sources.js';
import type { ChunkBuilder } from '../forward/chunk.js';
import { EventTime } from '../forward/event-time.js';
import { diagnostic, type Diagnostic } from '../schema/diagnostic.js';
import type { AuditRecordVerdict, ClassifyOptions } from '../schema/line.js';
import { before, type TimeBound } from '../schema/timestamp.js';
import { LineJudge } from '../verdict/judge.js';
import { TIME_OUT_OF_RANGE, TOO_DEEP } from '../verdict/ship-rejects.js';
import type { TranscodedRecord } from '../verdict/record-transcoder.js';
import type { ShipCounts } from './counts.js';

export interface AcceptOptions {
  classify: ClassifyOptions;
  maxLineBytes: number;
  /** `record`: the event time is the record's Timestamp; `now`: the time it is read. */
  timeSource: 'record' | 'now';
  /** Records outside [since, until) by Timestamp are counted as filtered and not shipped. */
  since: TimeBound | null;
  until: TimeBound | null;
  /** Add `kubernetes: {namespace, pod, container}` to each record read from a pod (--kubernetes-metadata). */
  kubernetesMetadata: boolean;
  /** Each invalid line, with its diagnostics; nothing is dropped silently. */
  onInvalid: (source: string, line: Line, diagnostics: Diagnostic[]) => void;
  /** Each valid record's JSON (for --stdout), and a flush at the end of every batch of lines. */
  writer: { write(json: string): void; flush(): Promise<void> } | null;
  /** Status for the user: a resumed or already finished file, a line with zero padding. */
  onNote: (message: string) => void;
}

const KUBERNETES_KEY = Buffer.from('"kubernetes"');

/** A record's id, read only by an input that drops repeats (kubectl). */
interface RecordIds {
  requestId(): string;
}

export class LineAcceptor {
  private readonly judge: LineJudge;

  constructor(
    private readonly builder: ChunkBuilder,
    private readonly options: AcceptOptions,
    private readonly counts: ShipCounts,
    /** A record was added to the chunk (a live tail's chunk is then flushed in time). */
    private readonly added: () => void,
  ) {
    this.judge = new LineJudge(builder.writer, { ...options.classify, maxLineBytes: options.maxLineBytes });
  }

  /**
   * Counts one line; true when it added a record to the chunk being built. A valid record is
   * transcoded straight from its bytes; any other line goes through JSON.parse and the validator,
   * which give its diagnostics. `draining`: the run was stopped and this is what the input already
   * held, so a last line without its end was cut by the stop.
   */
  accept(source: InputSource, line: Line, draining: boolean): boolean {
    const c = this.counts;
    c.lines++;
    if (line.unterminated && draining) {
      // Stopped mid-line: the rest of this line is still in the pipe, never to be read by this run.
      this.reject(source, line, [
        diagnostic(
          'cut-at-stop',
          null,
          `the stop cut this line after ${line.overLimit || line.bytes.length} bytes; the rest of it was not read`,
        ),
      ]);
      return false;
    }
    const start = this.builder.beginEntry();
    const verdict = this.judge.judge(line);
    if (verdict.kind === 'fast') return this.acceptTranscoded(source, line, verdict, start);
    this.builder.cancelEntry(start);
    const padded = splitAtPadding(line);
    if (padded) return this.acceptParts(source, line, padded, draining);
    switch (verdict.kind) {
      case 'blank':
        c.blank++;
        return false;
      case 'skipped':
        c.skipped++;
        return false;
      case 'rejected':
        this.reject(source, line, verdict.diagnostics);
        return false;
      case 'record':
        return this.acceptRecord(source, line, verdict);
    }
  }

  /** A line with zero padding counts as its parts, each judged as a line; one of padding alone, as blank. */
  private acceptParts(source: InputSource, line: Line, padded: Padded, draining: boolean): boolean {
    this.options.onNote(`${source.name}:${line.number}: ${describePadding(padded)}`);
    if (padded.parts.length === 0) {
      this.counts.blank++;
      return false;
    }
    this.counts.lines--;
    let added = false;
    for (const part of padded.parts) added = this.accept(source, part, draining) || added;
    return added;
  }

  private acceptTranscoded(source: InputSource, line: Line, record: TranscodedRecord, start: number): boolean {
    if (!this.admit(source, line, record.seconds, record.nanoseconds, record)) {
      this.builder.cancelEntry(start);
      return false;
    }
    if (this.options.kubernetesMetadata) this.addOrigin(source, line, start, null);
    this.endEntry(start, record.seconds, record.nanoseconds);
    this.accepted(this.options.writer ? line.bytes.toString('utf8', kubectlPayloadOffset(line.bytes)) : '');
    return true;
  }

  private acceptRecord(source: InputSource, line: Line, verdict: AuditRecordVerdict): boolean {
    if (!verdict.valid) {
      this.reject(source, line, verdict.diagnostics);
      return false;
    }
    const { seconds, nanoseconds, record } = verdict;
    if (
      !this.admit(source, line, seconds, nanoseconds, {
        requestId: () => record.RequestID as string,
      })
    )
      return false;
    const start = this.builder.beginEntry();
    if (!this.builder.writeRecord(record)) {
      this.builder.cancelEntry(start);
      this.reject(source, line, [diagnostic('too-deep', null, TOO_DEEP)]);
      return false;
    }
    if (this.options.kubernetesMetadata) this.addOrigin(source, line, start, record);
    this.endEntry(start, seconds, nanoseconds);
    this.accepted(verdict.json);
    return true;
  }

  /**
   * --kubernetes-metadata: `kubernetes: {namespace, pod, container}` at the end of the record just
   * written, unless the record has a `kubernetes` field of its own (kept as it is). The fast path
   * has no parsed record: a line that mentions the key at all is parsed to tell.
   */
  private addOrigin(source: InputSource, line: Line, start: number, record: Record<string, unknown> | null): void {
    const origin = source.origin?.(line.end);
    if (!origin) return;
    if (record === null && line.bytes.includes(KUBERNETES_KEY)) {
      record = JSON.parse(line.bytes.toString('utf8', kubectlPayloadOffset(line.bytes))) as Record<string, unknown>;
    }
    if (record !== null && Object.hasOwn(record, 'kubernetes')) return;
    this.builder.appendToRecord(start, 'kubernetes', origin);
  }

  /** Closes the entry begun at `start` with the record's time, or with --time-source now the time it is read. */
  private endEntry(start: number, seconds: number, nanoseconds: number): void {
    if (this.options.timeSource === 'now') {
      const now = Date.now();
      this.builder.endEntry(start, Math.floor(now / 1000), (now % 1000) * 1e6);
    } else {
      this.builder.endEntry(start, seconds, nanoseconds);
    }
  }

  /**
   * Whether a valid record is shipped: its time fits the wire (unless --time-source now, when the
   * event time is not the record's), lies within --since/--until, and is not a duplicate.
   */
  private admit(source: InputSource, line: Line, seconds: number, nanoseconds: number, ids: RecordIds): boolean {
    if (this.options.timeSource === 'record' && !EventTime.representable(seconds, nanoseconds)) {
      this.reject(source, line, [diagnostic('time-out-of-range', 'Timestamp', TIME_OUT_OF_RANGE)]);
      return false;
    }
    const { since, until } = this.options;
    const early = since !== null && before(seconds, nanoseconds, since);
    if (early || (until && !before(seconds, nanoseconds, until))) {
      this.counts.filtered++;
      const cut = (source.cutBy ??= {});
      if (early) cut.since = true;
      else cut.until = true;
      return false;
    }
    if (source.admit && !source.admit(ids.requestId(), line.end)) {
      this.counts.duplicates++;
      return false;
    }
    return true;
  }

  private accepted(json: string): void {
    this.counts.valid++;
    this.options.writer?.write(json);
    this.added();
  }

  private reject(source: InputSource, line: Line, diagnostics: Diagnostic[]): void {
    this.counts.invalid++;
    const seen = new Set<string>();
    for (const d of diagnostics) {
      if (d.severity !== 'error' || seen.has(d.code)) continue;
      seen.add(d.code);
      this.counts.invalidByCode[d.code] = (this.counts.invalidByCode[d.code] ?? 0) + 1;
    }
    this.options.onInvalid(source.name, line, diagnostics);
  }
}
