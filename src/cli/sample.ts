/** `audit-ship sample`: realistic audit lines on stdout, for demos, benchmarks and trying the tool out. */
import { sampleLines } from '../sample/generate.js';
import { BrokenPipeError, TextOutput } from './output.js';

export async function sample(options: { count: number; seed: number; start: number }): Promise<void> {
  const out = new TextOutput(process.stdout, 256 * 1024);
  try {
    for (const line of sampleLines(options.count, options)) {
      const pending = out.write(line);
      if (pending) await pending;
    }
    await out.flush();
  } catch (error) {
    // `audit-ship sample | head` is normal use: the reader has what it wanted.
    if (!(error instanceof BrokenPipeError)) throw error;
  }
}
