/**
 * A Map bounded to `capacity` entries that drops the least recently used one when full. A JS Map keeps
 * insertion order, so "recently used" = deleted and re-inserted: O(1) per operation, and the oldest
 * entry is the first key. Used where tenant or anonymous input decides the keys (unknown API keys,
 * client addresses): memory stays bounded whatever the input, and the entries still in use survive.
 */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`LruMap capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, marked as most recently used. */
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  /** The value, without touching its recency. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  /** Sets (as most recently used); returns the key dropped to make room, if any. */
  set(key: K, value: V): K | undefined {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size <= this.capacity) return undefined;
    const oldest = this.map.keys().next().value as K;
    this.map.delete(oldest);
    return oldest;
  }

  /** The least recently used entry (the next to go). */
  oldest(): [K, V] | undefined {
    return this.map.entries().next().value;
  }

  /** Visits every entry, least recently used first, without touching recency. */
  forEach(visit: (value: V, key: K) => void): void {
    this.map.forEach(visit);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }
}
