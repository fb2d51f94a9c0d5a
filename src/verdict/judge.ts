/**
 * lines → verdict: the one place that decides what a line is, for `ship` and `lint` alike. A valid
 * record with no diagnostic at all is taken by the fast path, which writes its msgpack as it checks
 * it (src/verdict/record-transcoder.ts); any other line is parsed and validated in full, which gives
 * its diagnostics (src/schema/line.ts). Callers only count and act on the verdict.
 */
import { SplitLine, type Line } from '../input/lines.js';
import type { MsgpackWriter } from '../msgpack/writer.js';
import { judgeLine, type ClassifyOptions, type LineVerdict } from '../schema/line.js';
import { RecordTranscoder, type TranscodedRecord } from './record-transcoder.js';

/** `fast`: valid, and already encoded at the writer's position (valid until the next line); or the full path's verdict. */
export type Verdict = TranscodedRecord | LineVerdict;

export class LineJudge {
  private readonly transcoder: RecordTranscoder;

  constructor(
    /** Where a fast verdict's record is written, at its current position. */
    private readonly writer: MsgpackWriter,
    private readonly options: ClassifyOptions & { maxLineBytes: number },
  ) {
    this.transcoder = new RecordTranscoder(writer, options.strict);
  }

  /** The line's verdict; the writer has moved only for a `fast` one. */
  judge(line: Line): Verdict {
    if (line.overLimit === 0) {
      const start = this.writer.pos;
      const fast =
        line instanceof SplitLine
          ? this.transcoder.transcodeRange(line.buffer, line.start, line.stop, line.utf8)
          : this.transcoder.transcode(line.bytes);
      if (fast) return fast;
      this.writer.pos = start;
    }
    return judgeLine(line, this.options);
  }
}
