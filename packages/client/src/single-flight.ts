/**
 * Single flight: concurrent callers asking for the same key share one in-flight promise, so ten
 * `getAccessToken()` calls at once make one request. The key is forgotten once the promise settles.
 *
 * @packageDocumentation
 */

/** Runs at most one task per key at a time. */
export interface SingleFlight<Key, Value> {
  /** Joins the running task for `key`, or starts `task` when there is none. */
  run(key: Key, task: () => Promise<Value>): Promise<Value>;
}

/** Creates a {@link SingleFlight}. */
export function singleFlight<Key, Value>(): SingleFlight<Key, Value> {
  const inFlight = new Map<Key, Promise<Value>>();
  return {
    run(key, task) {
      const running = inFlight.get(key);
      if (running !== undefined) return running;
      const started = task().finally(() => inFlight.delete(key));
      inFlight.set(key, started);
      return started;
    },
  };
}
