/**
 * Default RDP orders: Opacus's `RDPAccountant.DEFAULT_ALPHAS`,
 * [1 + x/10 for x in 1..99] + [12..63], so a site's epsilon is comparable with Opacus's.
 */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, k) => 1 + (k + 1) / 10),
  ...Array.from({ length: 52 }, (_, k) => 12 + k),
]);
