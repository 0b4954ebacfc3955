import type { RoundKey } from './round-journal.js';

/**
 * The clipped deltas this process trained, by round: an encrypted late update is encrypted again
 * from its delta, under a weight discounted for its staleness. Never written to disk (the journal
 * holds only the bytes that leave), so an agent restarted since training has none and drops such
 * an update. A few rounds are kept; the oldest goes first.
 */
export class TrainedUpdates {
  readonly #byRound = new Map<string, Float32Array>();
  readonly #capacity: number;

  constructor(capacity = 4) {
    this.#capacity = capacity;
  }

  remember(key: RoundKey, clipped: Float32Array): void {
    const id = idOf(key);
    this.#byRound.delete(id);
    this.#byRound.set(id, clipped);
    for (const oldest of this.#byRound.keys()) {
      if (this.#byRound.size <= this.#capacity) break;
      this.#byRound.delete(oldest);
    }
  }

  recall(key: RoundKey): Float32Array | null {
    return this.#byRound.get(idOf(key)) ?? null;
  }

  forget(key: RoundKey): void {
    this.#byRound.delete(idOf(key));
  }
}

/** The same computation: job, round, kind, key epoch and input model. */
function idOf(key: RoundKey): string {
  return [key.job, key.round, key.kind, key.epoch, key.inputSha256].join('\u0000');
}
