/**
 * Peer: Fluent Bit, tail → forward with acks and its default memory buffer, parsing every line as
 * JSON. Runs under GNU time for its CPU and peak RSS, and exits at the end of the file
 * (`Exit_On_Eof`); its time is from its start to the sink's last event, since its exit waits out a
 * flush and a grace period that delivery does not need.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { tempDir } from '../test/helpers/cli.js';

/** The fluent-bit binary: FLUENT_BIT, or one on PATH; null when there is none. */
export function findFluentBit(): string | null {
  const given = process.env.FLUENT_BIT;
  if (given) return existsSync(given) ? given : null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'fluent-bit');
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

function config(path: string, port: number, dir: string): string {
  writeFileSync(join(dir, 'parsers.conf'), ['[PARSER]', '    Name json', '    Format json', ''].join('\n'));
  const conf = join(dir, 'fluent-bit.conf');
  writeFileSync(
    conf,
    [
      '[SERVICE]',
      // Fluent Bit sends what it buffered once per flush, and tail stops reading at Mem_Buf_Limit:
      // at 0.2 s its speed was capped at 16 MB a flush (80 MB/s); from 0.05 s down it no longer
      // depends on the interval (0.01, 0.02 and 0.05 s within the noise), so this is its best.
      '    Flush 0.05',
      '    Grace 1',
      '    Log_Level warn',
      `    Parsers_File ${join(dir, 'parsers.conf')}`,
      '[INPUT]',
      '    Name tail',
      `    Path ${path}`,
      '    Read_from_Head On',
      '    Exit_On_Eof On',
      '    Parser json',
      '    Buffer_Chunk_Size 256k',
      '    Buffer_Max_Size 1m',
      // Without a limit tail reads the whole file into memory ahead of the output, as production setups do not.
      '    Mem_Buf_Limit 16MB',
      '[OUTPUT]',
      '    Name forward',
      '    Match *',
      '    Host 127.0.0.1',
      `    Port ${port}`,
      '    Require_ack_response On',
      '',
    ].join('\n'),
  );
  return conf;
}

/** Runs only as the benchmark's child: prints the JSON summary the other shippers print. */
async function main(): Promise<void> {
  const [binary, path, port] = [process.argv[2]!, process.argv[3]!, Number(process.argv[4])];
  const conf = config(path, port, tempDir('audit-ship-bench-fluent-bit-'));
  const startedAt = Date.now();
  const child = spawn('/usr/bin/time', ['-f', 'TIME %e %U %S %M', binary, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
  if (code !== 0 || !m) throw new Error(`fluent-bit exited ${code}: ${stderr.slice(-2000)}`);
  const summary = { seconds: Number(m[1]), startedAt, cpuSeconds: Number(m[2]) + Number(m[3]), peakRssBytes: Number(m[4]) * 1024 };
  process.stderr.write(`${JSON.stringify(summary)}\n`);
}

if (process.argv[1]?.endsWith('peer-fluent-bit.js')) await main();
