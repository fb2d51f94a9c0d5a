/**
 * What a run reads: its files or stdin, or the pods kubectl follows; and, for a live tail resumed
 * after a crash, the RequestIDs it may read again.
 */
import type { ShipOptions } from '../cli/ship-options.js';
import { UsageError } from '../errors.js';
import { decodeEntryStream } from '../forward/decode-transport.js';
import { DEFAULT_KUBECTL_RECENT_IDS } from '../input/kube/defaults.js';
import { openSources } from '../input/open-sources.js';
import type { InputSource } from '../input/sources.js';
import type { Spool } from '../spool/spool.js';
import type { WriteGate } from '../state-file.js';

export async function openInputs(
  files: string[],
  options: ShipOptions,
  note: (text: string) => void,
  /** What must be on disk before kubectl's positions are (the --dead-letter file's letters). */
  writeAfter?: WriteGate,
): Promise<InputSource[]> {
  if (options.kubectl === undefined) {
    if (options.kubernetesMetadata) throw new UsageError('--kubernetes-metadata names the pod a record came from: it needs --kubectl');
    return openSources(files);
  }
  if (files.length > 0) throw new UsageError('--kubectl reads from kubectl; give no input files with it');
  // Loaded only here: a run from files or stdin does without kubectl's modules.
  const { kubeSource } = await import('../input/kube/source.js');
  const { readTickFor } = await import('../input/kube/coalesced-read.js');
  return [
    kubeSource({
      target: options.kubectl,
      command: options.kubectlCommand,
      maxStreams: options.kubectlMaxStreams,
      silenceMs: options.kubectlSilence,
      backoff: { initialMs: 500, maxMs: 30_000 },
      recentIds: DEFAULT_KUBECTL_RECENT_IDS,
      maxLineBytes: options.maxLineBytes,
      positionsDir: options.spoolDir,
      fsync: options.spoolFsync !== 'never',
      readTickMs: readTickFor(options.flushInterval),
      onMessage: (line) => note(`${line}\n`),
      ...(writeAfter ? { writeAfter } : {}),
    }),
  ];
}

/**
 * The RequestIDs of the most recent records in the spool. A live tail resumed after a crash may
 * read again the lines of the last chunk it spooled (its position is saved just after the chunk):
 * these ids let it recognise them as repeats, so they are not shipped twice.
 */
export async function spooledRequestIds(spool: Spool): Promise<string[]> {
  const ids: string[] = [];
  for (const { entries, compressed } of await spool.recentEntries(DEFAULT_KUBECTL_RECENT_IDS)) {
    try {
      for (const event of decodeEntryStream(entries, compressed)) {
        if (typeof event.record.RequestID === 'string') ids.push(event.record.RequestID);
      }
    } catch {
      // A chunk that cannot be read back is the spool's to report when it is sent.
    }
  }
  return ids;
}

/** A live tail resumed after a crash recognises the records still in the spool as repeats. */
export async function rememberSpooled(sources: readonly InputSource[], spool: Spool): Promise<void> {
  const inputs = sources.filter((s) => s.remember);
  if (inputs.length === 0 || spool.stats.records === 0) return;
  const ids = await spooledRequestIds(spool);
  for (const input of inputs) input.remember!(ids);
}
