import { PrivacyError } from '../errors.js';
import { DEFAULT_RDP_ORDERS } from './orders.js';
import { computeRdp, type SampledGaussianSettings } from './sampled-gaussian-rdp.js';
import { rdpToEpsilon, type EpsilonAtOrder } from './rdp-to-epsilon.js';
import { requireOrders, requireParameter } from './validate.js';

/**
 * An RDP curve together with its orders. Curves of mechanisms run on the same dataset add up
 * order by order (RDP composition), which is why a site keeps one cumulative curve per dataset
 * and converts it to (epsilon, delta) only when asked.
 */
export interface RdpVector {
  readonly orders: readonly number[];
  readonly rdp: readonly number[];
}

/** The RDP curve one training round adds: `steps` DP-SGD steps at one sample rate and noise. */
export function roundRdp(settings: SampledGaussianSettings): RdpVector {
  const orders = [...(settings.orders ?? DEFAULT_RDP_ORDERS)];
  return { orders, rdp: computeRdp({ ...settings, orders }) };
}

/** The zero curve: nothing spent yet. */
export function emptyRdp(orders: readonly number[] = DEFAULT_RDP_ORDERS): RdpVector {
  requireOrders(orders);
  return { orders: [...orders], rdp: orders.map(() => 0) };
}

/** Composition: the order-wise sum. Both curves must be computed at the same orders. */
export function addRdp(a: RdpVector, b: RdpVector): RdpVector {
  requireSameOrders(a, b);
  return { orders: [...a.orders], rdp: a.rdp.map((x, k) => x + (b.rdp[k] as number)) };
}

/** Cumulative curve of several rounds (the empty list gives the zero curve at the default orders). */
export function composeRdp(rounds: readonly RdpVector[]): RdpVector {
  const [first, ...rest] = rounds;
  if (first === undefined) return emptyRdp();
  return rest.reduce(addRdp, { orders: [...first.orders], rdp: [...first.rdp] });
}

/** (epsilon, best order) of a (cumulative) curve at `delta`. */
export function rdpVectorEpsilon(vector: RdpVector, delta: number): EpsilonAtOrder {
  return rdpToEpsilon(vector.orders, vector.rdp, delta);
}

/** Checks that a value read from storage is a well-formed RDP vector. */
export function isRdpVector(value: unknown): value is RdpVector {
  if (typeof value !== 'object' || value === null) return false;
  const { orders, rdp } = value as { orders?: unknown; rdp?: unknown };
  return (
    Array.isArray(orders) &&
    Array.isArray(rdp) &&
    orders.length > 0 &&
    orders.length === rdp.length &&
    orders.every((o) => typeof o === 'number' && o > 1) &&
    rdp.every((r) => typeof r === 'number' && r >= 0)
  );
}

function requireSameOrders(a: RdpVector, b: RdpVector): void {
  requireParameter(isRdpVector(a), 'rdp', a, 'an RDP vector');
  requireParameter(isRdpVector(b), 'rdp', b, 'an RDP vector');
  const same = a.orders.length === b.orders.length && a.orders.every((o, k) => o === b.orders[k]);
  if (!same) {
    throw new PrivacyError(
      'PRIVACY_RDP_ORDERS_MISMATCH',
      `cannot add RDP vectors computed at different orders (${a.orders.length} vs ${b.orders.length} orders); recompute both at the same orders`,
    );
  }
}
