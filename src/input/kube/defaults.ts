/**
 * The kubectl input's defaults, apart from its code: the option table and a run without
 * `--kubectl` read them without loading kubectl's modules.
 */

/** The most recent RequestIDs remembered, across all streams: lines read again after a reconnect or a restart are dropped. */
export const DEFAULT_KUBECTL_RECENT_IDS = 20_000;
/** Pod containers followed at once, one kubectl each (--kubectl-max-streams). */
export const DEFAULT_KUBECTL_MAX_STREAMS = 32;
/** A follow that hears nothing this long starts again from its position (--kubectl-silence). */
export const DEFAULT_KUBECTL_SILENCE_MS = 30_000;
