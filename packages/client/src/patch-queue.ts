/**
 * The queue of metadata patches waiting to be sent. Patches are composed in order into as few
 * segments as JSON Merge Patch allows (almost always one), so a burst of updates, or everything
 * made while offline, goes out as a single request. Each segment remembers who is waiting for it.
 *
 * @packageDocumentation
 */
import { canComposePatches, composePatches } from './merge-patch.js';
import type { JsonObject } from './types.js';

/** One patch to send, and whoever waits for it to be sent. */
export interface PatchSegment<Waiter> {
  /** The composed patch. */
  patch: JsonObject;
  /** Callers to settle when this segment is sent, queued or refused. */
  waiters: Waiter[];
}

/** An ordered queue of composed metadata patches. */
export interface PatchQueue<Waiter> {
  /** Number of segments waiting (0 when nothing is pending). */
  readonly size: number;
  /** Adds a patch after everything already queued, composing it into the last segment when exact. */
  append(patch: JsonObject, waiters?: Waiter[]): void;
  /** Removes and returns every segment, oldest first. */
  takeAll(): PatchSegment<Waiter>[];
  /** Puts segments back in front of what was queued since they were taken, recomposing in order. */
  putBack(segments: readonly PatchSegment<Waiter>[]): void;
  /** The queued patches, oldest first (what is persisted). */
  patches(): JsonObject[];
}

/** Creates an empty {@link PatchQueue}. */
export function createPatchQueue<Waiter>(): PatchQueue<Waiter> {
  let segments: PatchSegment<Waiter>[] = [];

  const append = (patch: JsonObject, waiters: Waiter[] = []): void => {
    const last = segments[segments.length - 1];
    if (last !== undefined && canComposePatches(last.patch, patch)) {
      last.patch = composePatches(last.patch, patch);
      last.waiters.push(...waiters);
    } else {
      segments.push({ patch, waiters: [...waiters] });
    }
  };

  return {
    get size() {
      return segments.length;
    },
    append,
    takeAll() {
      const taken = segments;
      segments = [];
      return taken;
    },
    putBack(front) {
      const newer = segments;
      segments = [];
      for (const segment of [...front, ...newer]) append(segment.patch, segment.waiters);
    },
    patches: () => segments.map((segment) => segment.patch),
  };
}
