export interface TtlCacheOptions {
  /** Most entries kept; storing one more drops the least recently used. */
  maxEntries: number;
  /** How long an entry is served after it was stored (milliseconds). */
  ttlMs: number;
  /** The clock entries expire by (milliseconds since the epoch; default `Date.now`). */
  now?: () => number;
}

/**
 * The one in-process cache type of the server: bounded (at most `maxEntries`, least recently used
 * dropped first) and timed (an entry is served for `ttlMs` after it was stored, then looked up
 * again). The composition root (server/services.ts) creates every instance with its own limits.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number }>();
  /** Loads in progress (getOrLoad), so concurrent misses of one key share one load. */
  private readonly loading = new Map<K, Promise<V>>();
  private readonly now: () => number;

  constructor(private readonly options: TtlCacheOptions) {
    if (!(options.maxEntries >= 1) || !(options.ttlMs > 0)) throw new Error('TtlCache needs maxEntries >= 1 and ttlMs > 0');
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value stored under `key` if it has not expired (a hit makes it the most recently used). */
  get(key: K): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.entries.delete(key);
    if (hit.expiresAt <= this.now()) return undefined;
    this.entries.set(key, hit);
    return hit.value;
  }

  set(key: K, value: V): void {
    this.loading.delete(key);
    this.entries.delete(key);
    while (this.entries.size >= this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt: this.now() + this.options.ttlMs });
  }

  /** Forgets the entry, and a load of it in progress: what that load returns is not stored. */
  delete(key: K): void {
    this.loading.delete(key);
    this.entries.delete(key);
  }

  /**
   * The cached value, or the one `load` gives (stored; a failed load stores nothing). Concurrent
   * misses of one key wait for the same load. A load that a `delete` or `set` of its key overtook
   * still answers its callers, but is not stored: it may have read what the change replaced.
   */
  getOrLoad(key: K, load: () => Promise<V>): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) return Promise.resolve(hit);
    const inFlight = this.loading.get(key);
    if (inFlight) return inFlight;
    let loaded: Promise<V>;
    try {
      loaded = load();
    } catch (err) {
      return Promise.reject(err);
    }
    this.loading.set(key, loaded);
    const current = () => this.loading.get(key) === loaded;
    return loaded.then(
      (value) => {
        if (current()) this.set(key, value);
        return value;
      },
      (err: unknown) => {
        if (current()) this.loading.delete(key);
        throw err;
      },
    );
  }
}
