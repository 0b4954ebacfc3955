import { PrivacyError } from '../errors.js';
import { isFiniteNumber, requireOrders, requireParameter } from './validate.js';

export interface EpsilonAtOrder {
  readonly epsilon: number;
  /** The RDP order that gave the smallest epsilon. */
  readonly order: number;
}

/**
 * Converts an RDP curve to (epsilon, delta)-DP with the bound of Balle et al. 2020 ("Hypothesis
 * testing interpretations and Renyi differential privacy", Theorem 21), the conversion of Opacus's
 * `get_privacy_spent` and of TF Privacy / dp_accounting's `RdpAccountant`:
 *   eps(alpha) = rdp(alpha) - (log(delta) + log(alpha)) / (alpha - 1) + log((alpha - 1) / alpha)
 * minimised over the orders. As in dp_accounting, an order whose RDP is so small that
 * delta >= sqrt(1 - exp(-rdp)) (the KL / Pinsker bound) gives epsilon 0; orders <= 1.01 are skipped
 * because the bound is numerically unstable there.
 */
export function rdpToEpsilon(orders: readonly number[], rdp: readonly number[], delta: number): EpsilonAtOrder {
  requireOrders(orders);
  requireParameter(isFiniteNumber(delta) && delta > 0 && delta < 1, 'delta', delta, 'a number in (0, 1)');
  if (orders.length !== rdp.length) {
    throw new PrivacyError(
      'PRIVACY_RDP_ORDERS_MISMATCH',
      `the RDP vector has ${rdp.length} values for ${orders.length} orders; compute it at the same orders`,
    );
  }
  let best: EpsilonAtOrder = { epsilon: Infinity, order: Number.NaN };
  for (let k = 0; k < orders.length; k++) {
    const alpha = orders[k] as number;
    const r = rdp[k] as number;
    requireParameter(typeof r === 'number' && r >= 0, 'rdp', r, 'non-negative numbers');
    const epsilon = epsilonAtOrder(alpha, r, delta);
    if (epsilon < best.epsilon) best = { epsilon, order: alpha };
  }
  if (Number.isNaN(best.order)) best = { epsilon: Infinity, order: orders[0] as number };
  return best;
}

function epsilonAtOrder(alpha: number, r: number, delta: number): number {
  if (r === Infinity) return Infinity;
  if (delta * delta + Math.expm1(-r) >= 0) return 0;
  if (!(alpha > 1.01) || alpha === Infinity) return Infinity;
  const eps = r + Math.log1p(-1 / alpha) - Math.log(delta * alpha) / (alpha - 1);
  return Math.max(0, eps);
}
