/**
 * What a pod's identity and its containers' ends mean for the streams that follow them. A pod is
 * known by its UID, not its name: a StatefulSet makes a pod again under the same name, maybe on a
 * node whose clock is behind, and a position read from the old pod says nothing of the new one. An
 * init container that has Completed is read to its end once, not followed again while its pod lives.
 */
import type { ContainerStream } from './container-stream.js';
import type { PodInfo } from './pod-watch.js';
import type { StreamPosition } from './positions.js';

export class PodIdentities {
  /** Containers read to their end while their pod lives on (Completed init containers): restart count by `key#uid`. */
  private readonly finished = new Map<string, number>();
  /** New pods under the name of one still being read to its end, by stream key (see ContainerStream.supersede). */
  private readonly replacements = new Map<string, PodInfo>();

  constructor(private readonly onMessage: (line: string) => void) {}

  /**
   * `pod` is another pod than the one `known` follows, under its name: the old pod is gone, its
   * stream ends, and the new one is followed once it has (see ended()). True if so.
   */
  superseded(known: ContainerStream, pod: PodInfo): boolean {
    if (known.pod.uid === null || pod.uid === null || known.pod.uid === pod.uid) return false;
    known.supersede();
    if (pod.deleted) this.replacements.delete(known.key);
    else this.replacements.set(known.key, pod);
    return true;
  }

  /** A stream ended: the pod made again under its name, to follow now, if there is one. */
  ended(stream: ContainerStream): PodInfo | null {
    const { key, pod, container } = stream;
    if (!pod.deleted && pod.completed.has(container)) this.finished.set(finishedMark(key, pod), pod.restarts.get(container) ?? 0);
    const replacement = this.replacements.get(key);
    if (!replacement) return null;
    this.replacements.delete(key);
    this.saidNew(key);
    return replacement;
  }

  /**
   * Whether a container of `pod` needs a stream: not once it is read to its end as a Completed
   * init container, until it has run again (a restart count of its own) or the pod is deleted.
   */
  wanted(key: string, pod: PodInfo, container: string): boolean {
    const mark = finishedMark(key, pod);
    if (pod.deleted) {
      this.finished.delete(mark);
      return false;
    }
    return !(pod.completed.has(container) && this.finished.get(mark) === (pod.restarts.get(container) ?? 0));
  }

  /** Where a container starts: its saved position, unless that was of another pod under the same name. */
  start(key: string, pod: PodInfo, saved: StreamPosition | null): StreamPosition | null {
    if (!saved?.uid || !pod.uid || saved.uid === pod.uid) return saved;
    this.saidNew(key);
    return null;
  }

  private saidNew(key: string): void {
    this.onMessage(`audit-ship: ${key} is a new pod under the name of the one followed before: read from its first line`);
  }
}

/** A container of one pod, whatever pods come under its name later: `finished`'s key. */
function finishedMark(key: string, pod: PodInfo): string {
  return `${key}#${pod.uid}`;
}
