import { computeRdp, type SampledGaussianSettings } from './sampled-gaussian-rdp.js';
import { DEFAULT_RDP_ORDERS } from './orders.js';
import { rdpToEpsilon, type EpsilonAtOrder } from './rdp-to-epsilon.js';

export interface EpsilonQuery extends SampledGaussianSettings {
  readonly delta: number;
}

/** Epsilon of `steps` steps of DP-SGD (Poisson sampling at `sampleRate`, Gaussian noise) at `delta`. */
export function computeEpsilon(query: EpsilonQuery): EpsilonAtOrder {
  const orders = query.orders ?? DEFAULT_RDP_ORDERS;
  return rdpToEpsilon(orders, computeRdp({ ...query, orders }), query.delta);
}
