/**
 * A map that holds at most `capacity` entries, evicting the least recently used one (read with `get` or written
 * with `set`) when full. Built on `Map`'s insertion order: every operation is O(1).
 */
export class LruMap<K, V> {
  /** Most entries kept. */
  readonly capacity: number;
  private readonly entries = new Map<K, V>();
  private evictedCount = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`expected a capacity of at least 1, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  /** Entries held now. */
  get size(): number {
    return this.entries.size;
  }

  /** Entries evicted so far to stay within capacity. */
  get evicted(): number {
    return this.evictedCount;
  }

  /** The value for `key`, marking it most recently used; `undefined` when absent. */
  get(key: K): V | undefined {
    if (!this.entries.has(key)) return undefined;
    const value = this.entries.get(key)!;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  /** True when `key` is held (does not change recency). */
  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Stores `value` for `key` as most recently used, evicting the least recently used entry when full. */
  set(key: K, value: V): void {
    if (this.entries.has(key)) this.entries.delete(key);
    else if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
      this.evictedCount++;
    }
    this.entries.set(key, value);
  }
}
