import { stalenessWeight } from '@medfed/proto';

/** One contribution of a round: its site and how many rounds old the model it trained from was (0: fresh). */
export interface WeightedContributor {
  readonly siteId: string;
  readonly staleness: number;
}

/**
 * The weight one contribution counts with: the site's announced share, discounted for staleness on
 * a semi-asynchronous job (stalenessWeight: the very number an encrypted site multiplies its late
 * update by, so the encrypted check slot and a plaintext twin agree bit for bit).
 */
export function effectiveWeight(weightOf: (siteId: string) => number, c: WeightedContributor): number {
  return stalenessWeight(weightOf(c.siteId), c.staleness);
}

/**
 * The total weight of a round's contributions, each at its effective weight, summed in the order
 * given (the round's stored contributions, by site id). The encrypted close records it with the
 * round's sum and every site divides by it; the plaintext runner divides by the same number, so both
 * must sum it here: a floating-point sum in another order could differ in its last bit.
 */
export function totalWeightOf(contributions: readonly WeightedContributor[], weightOf: (siteId: string) => number): number {
  return contributions.reduce((sum, c) => sum + effectiveWeight(weightOf, c), 0);
}
