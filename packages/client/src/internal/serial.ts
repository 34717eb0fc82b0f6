/**
 * A one-lane queue: tasks run one after another, in the order they were given. Every call that
 * sends a session token goes through it, because each answer rotates the token (and, in the default
 * stateless mode, carries the metadata): two at once would let the older answer win.
 */

/** Runs tasks one at a time. */
export interface SerialLane {
  /** Runs `task` after every task given before it has settled. */
  run<T>(task: () => Promise<T>): Promise<T>;
}

/** Creates a {@link SerialLane}. */
export function serialLane(): SerialLane {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run(task) {
      const result = tail.then(task);
      tail = result.catch(() => undefined);
      return result;
    },
  };
}
