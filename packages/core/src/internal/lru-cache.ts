/** A small least-recently-used map with a fixed number of entries. */
export class LruCache<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = Math.max(1, maxEntries);
  }

  /** The most recently used entry: asked again, it is answered without a lookup or a move. */
  #newest: K | undefined;
  #newestValue: V | undefined;

  get(key: K): V | undefined {
    // The hot path for one token: an equal key (compared by content, no hash of a new string).
    if (this.#newestValue !== undefined && key === this.#newest) return this.#newestValue;
    const value = this.#entries.get(key);
    if (value !== undefined) {
      // move to the most-recent end
      this.#entries.delete(key);
      this.#entries.set(key, value);
      this.#newest = key;
      this.#newestValue = value;
    }
    return value;
  }

  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    this.#newest = key;
    this.#newestValue = value;
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as K;
      this.#entries.delete(oldest);
      if (oldest === this.#newest) this.#forgetNewest();
    }
  }

  delete(key: K): void {
    this.#entries.delete(key);
    if (key === this.#newest) this.#forgetNewest();
  }

  #forgetNewest(): void {
    this.#newest = undefined;
    this.#newestValue = undefined;
  }

  get size(): number {
    return this.#entries.size;
  }
}
