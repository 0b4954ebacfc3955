/**
 * The total weight of a round's contributors, summed in the order given (the round's stored
 * contributions, by site id). The encrypted close records it with the round's sum and every site
 * divides by it; the plaintext runner divides by the same number, so both must sum it here: a
 * floating-point sum in another order could differ in its last bit.
 */
export function totalWeightOf(contributors: readonly string[], weightOf: (siteId: string) => number): number {
  return contributors.reduce((sum, siteId) => sum + weightOf(siteId), 0);
}
