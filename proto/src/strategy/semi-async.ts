import { StrategyError } from './errors.js';

/**
 * Semi-asynchronous rounds (FedBuff-style, Nguyen et al., "Federated Learning with Buffered
 * Asynchronous Aggregation", AISTATS 2022) for sites of unequal speed: a training round closes at
 * the first `closeAfter` updates; a site whose update arrives after its round closed has it counted
 * in the round that is open then, down-weighted by its staleness s (rounds since the model it
 * trained from), if s <= `maxStaleness`; a staler update is dropped. Every round's sum still holds
 * at least `closeAfter` updates, so on an encrypted job closeAfter is at least the encryption minimum.
 */
export interface SemiAsyncSettings {
  readonly closeAfter: number;
  readonly maxStaleness: number;
}

/** The job-level strategy keys of semi-asynchronous rounds, accepted beside any weighted-mean strategy's own. */
export const SEMI_ASYNC_KEYS = ['closeAfter', 'maxStaleness'] as const;
export type SemiAsyncKey = (typeof SEMI_ASYNC_KEYS)[number];

export const DEFAULT_MAX_STALENESS = 4;
export const MAX_STALENESS_LIMIT = 32;

/** Reads closeAfter/maxStaleness from a strategy block: null (synchronous rounds) without closeAfter. */
export function semiAsyncOf(settings: Readonly<Record<string, unknown>>): SemiAsyncSettings | null {
  const closeAfter = settings['closeAfter'];
  const maxStaleness = settings['maxStaleness'];
  if (closeAfter === undefined) {
    if (maxStaleness !== undefined) throw new StrategyError('STRATEGY_SETTINGS_INVALID', 'maxStaleness applies to semi-asynchronous rounds only: set closeAfter too');
    return null;
  }
  if (!Number.isSafeInteger(closeAfter) || (closeAfter as number) < 1) {
    throw new StrategyError('STRATEGY_SETTINGS_INVALID', `closeAfter must be a positive integer (updates that close a round); got ${JSON.stringify(closeAfter)}`);
  }
  const staleness = maxStaleness ?? DEFAULT_MAX_STALENESS;
  if (!Number.isSafeInteger(staleness) || (staleness as number) < 0 || (staleness as number) > MAX_STALENESS_LIMIT) {
    throw new StrategyError('STRATEGY_SETTINGS_INVALID', `maxStaleness must be an integer in [0, ${MAX_STALENESS_LIMIT}]; got ${JSON.stringify(maxStaleness)}`);
  }
  return { closeAfter: closeAfter as number, maxStaleness: staleness as number };
}

/** FedBuff's polynomial staleness discount, 1/sqrt(1 + s): 1 for a fresh update. */
export function stalenessFactor(staleness: number): number {
  if (!Number.isSafeInteger(staleness) || staleness < 0) throw new RangeError(`staleness must be a non-negative integer; got ${staleness}`);
  return 1 / Math.sqrt(1 + staleness);
}

/**
 * The weight a late update counts with: the site's announced share times the staleness discount.
 * The site encrypts with exactly this number and the coordinator sums exactly this number into the
 * round's total weight (one IEEE multiplication on both sides), so the decryption check holds and a
 * plaintext twin computes the same bits.
 */
export function stalenessWeight(weight: number, staleness: number): number {
  return staleness === 0 ? weight : weight * stalenessFactor(staleness);
}
