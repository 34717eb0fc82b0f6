/**
 * The metadata updates not sent yet: the batch window that composes updates of one tick into one
 * request, and the offline queue that keeps them (persisted in the client's storage) until the
 * network is back. Private: the client (`client.ts`) composes it.
 */
import { isNetworkError } from '../errors.js';
import { isJsonObject } from '../merge-patch.js';
import { createPatchQueue, type PatchQueue, type PatchSegment } from '../patch-queue.js';
import type { AnonymousClientStorage } from '../storage.js';
import type { JsonObject } from '../types.js';

/** What happened to an update: sent to the server, or kept in the offline queue. */
export type UpdateOutcome = 'sent' | 'queued';

/** What a sync did: `'empty'` when nothing was pending. */
export type SyncOutcome = UpdateOutcome | 'empty';

/** Someone waiting for a patch segment. */
interface Waiter {
  resolve(outcome: UpdateOutcome): void;
  reject(error: unknown): void;
}

/** How {@link PendingUpdates} sends and keeps the updates. */
export interface PendingUpdatesSettings {
  /** Keeps the offline queue. */
  storage: AnonymousClientStorage;
  /** The storage key of the offline queue. */
  pendingKey: string;
  /** How long updates are collected before they go out as one request, in ms. */
  batchWindowMs: number;
  /** Sends one composed patch (a token request carrying it). */
  send: (patch: JsonObject) => Promise<unknown>;
  /** Whether the platform says it is offline (then nothing is tried). */
  isOffline: () => boolean;
}

/** The updates waiting to be sent, in order, composed where exact. */
export class PendingUpdates {
  /** Settles once the queue a previous page (or process) left in storage is loaded. */
  readonly ready: Promise<void>;
  readonly #settings: PendingUpdatesSettings;
  readonly #queue: PatchQueue<Waiter> = createPatchQueue<Waiter>();
  #batchTimer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #persisted = false;
  #persisting: Promise<void> = Promise.resolve();

  constructor(settings: PendingUpdatesSettings) {
    this.#settings = settings;
    this.ready = this.#restore();
  }

  /** Whether updates are waiting (offline queue or batch window). */
  hasPending(): boolean {
    return this.#queue.size > 0 || this.#batchTimer !== undefined;
  }

  /** Queues a patch and starts the batch window; resolves once it is sent or kept offline. */
  add(patch: JsonObject): Promise<UpdateOutcome> {
    return new Promise<UpdateOutcome>((resolve, reject) => {
      this.#queue.append(patch, [{ resolve, reject }]);
      this.#batchTimer ??= setTimeout(() => void this.flush(), this.#settings.batchWindowMs);
    });
  }

  /** Starts a flush after the ones already running. */
  flush(): Promise<void> {
    this.#stopBatchTimer();
    this.#flushing = this.#flushing.then(() => this.#sendQueued());
    return this.#flushing;
  }

  /** Waits for the flushes under way. */
  idle(): Promise<void> {
    return this.#flushing;
  }

  /** Sends every pending update now (batch window and offline queue), and waits for the sends. */
  async settle(): Promise<void> {
    await this.ready;
    if (this.#queue.size > 0) void this.flush();
    await this.#flushing;
  }

  /** Sends every pending update now; 'sent' only if every segment was. */
  async sync(): Promise<SyncOutcome> {
    await this.ready;
    await this.#flushing;
    if (this.#queue.size === 0) return 'empty';
    // One waiter per segment: the sync is 'sent' only if every segment was.
    const segments = this.#queue.takeAll();
    const outcomes = segments.map(
      (segment) => new Promise<UpdateOutcome>((resolve, reject) => segment.waiters.push({ resolve, reject })),
    );
    this.#queue.putBack(segments);
    void this.flush();
    const results = await Promise.all(outcomes);
    return results.includes('queued') ? 'queued' : 'sent';
  }

  /** Drops every pending update (the session ended): their callers reject with `error`. */
  async dropAll(error: () => unknown): Promise<void> {
    this.#stopBatchTimer();
    for (const segment of this.#queue.takeAll()) {
      const reason = error();
      for (const waiter of segment.waiters) waiter.reject(reason);
    }
    await this.#persist();
  }

  #stopBatchTimer(): void {
    if (this.#batchTimer !== undefined) clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
  }

  /** Sends every queued segment in order; on a network error keeps the rest for later. Never rejects. */
  async #sendQueued(): Promise<void> {
    const segments = this.#queue.takeAll();
    if (segments.length === 0) return;
    let held: PatchSegment<Waiter>[] = [];
    if (this.#settings.isOffline()) {
      held = segments;
    } else {
      for (const [index, segment] of segments.entries()) {
        try {
          await this.#settings.send(segment.patch);
          settleSegment(segment, 'sent');
        } catch (error) {
          if (isNetworkError(error)) {
            held = segments.slice(index);
            break;
          }
          for (const waiter of segment.waiters.splice(0)) waiter.reject(error);
        }
      }
    }
    for (const segment of held) settleSegment(segment, 'queued');
    this.#queue.putBack(held);
    await this.#persist();
  }

  /** Writes the queue to storage (or removes it when empty), one write at a time, best effort. */
  #persist(): Promise<void> {
    const { storage, pendingKey } = this.#settings;
    this.#persisting = this.#persisting.then(async () => {
      try {
        if (this.#queue.size > 0) {
          await storage.setItem(pendingKey, JSON.stringify(this.#queue.patches()));
          this.#persisted = true;
        } else if (this.#persisted) {
          await storage.removeItem(pendingKey);
          this.#persisted = false;
        }
      } catch {
        // The storage refused (quota, private mode): the queue stays in memory.
      }
    });
    return this.#persisting;
  }

  /** Loads the patches a previous page (or process) could not send. */
  async #restore(): Promise<void> {
    try {
      const saved = await this.#settings.storage.getItem(this.#settings.pendingKey);
      if (typeof saved !== 'string') return;
      this.#persisted = true;
      const patches: unknown = JSON.parse(saved);
      if (!Array.isArray(patches)) throw new TypeError('not a list');
      for (const patch of patches) if (isJsonObject(patch)) this.#queue.append(patch);
    } catch {
      await this.#persist(); // unreadable: replace it with what we have
    }
  }
}

function settleSegment(segment: PatchSegment<Waiter>, outcome: UpdateOutcome): void {
  for (const waiter of segment.waiters.splice(0)) waiter.resolve(outcome);
}
