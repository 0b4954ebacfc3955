/**
 * A small map whose entries expire, bounded in size (the oldest entry goes first). It keeps repeated
 * per-request lookups (a token's signature, a session's or a site's standing) off the database and the
 * CPU; everything this process changes itself is invalidated at once, so the TTL only bounds how late
 * another replica's change (a revocation, a suspension) is seen.
 */
export class TtlCache<V> {
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #entries = new Map<string, { value: V; until: number }>();

  constructor(ttlMs: number, max = 10_000) {
    this.#ttlMs = ttlMs;
    this.#max = max;
  }

  get(key: string, now = Date.now()): V | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.until <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  /** Stores `value` until `untilMs` at the latest (default: now + TTL). */
  set(key: string, value: V, untilMs?: number, now = Date.now()): void {
    if (this.#ttlMs <= 0) return;
    this.#entries.delete(key);
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { value, until: Math.min(untilMs ?? Infinity, now + this.#ttlMs) });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
