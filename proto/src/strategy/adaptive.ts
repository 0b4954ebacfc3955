import type { ParameterSpec, ServerStepResult } from './definition.js';
import { f32, squared } from './float32-ops.js';
import { stateVector, type ServerState } from './server-state.js';

/** The parameters FedAdam, FedYogi and FedAdagrad share (Reddi et al. 2021), with each one's default. */
export const adaptiveParameters = {
  serverLearningRate: (d: number): ParameterSpec => ({ default: d, min: 0, minExclusive: true, max: 10, describe: 'server learning rate eta' }),
  beta1: (d: number): ParameterSpec => ({ default: d, min: 0, max: 0.999999, describe: d === 0 ? 'first-moment decay (0: none)' : 'first-moment decay' }),
  beta2: (d: number): ParameterSpec => ({ default: d, min: 0, max: 0.999999, describe: 'second-moment decay' }),
  tau: (d: number): ParameterSpec => ({ default: d, min: 0, minExclusive: true, max: 1, describe: 'adaptivity (added to sqrt(v))' }),
};

export interface AdaptiveRule {
  readonly beta1: number;
  readonly tau: number;
  /** The round's step size (float32), eta or eta with Adam's bias correction. */
  readonly step: number;
  /** v_t from v_(t-1) and the rounded square of the delta: what tells the three optimizers apart. */
  secondMoment(v: number, dd: number): number;
  /** Scalars carried to the next round (running powers of beta). */
  readonly scalars: Readonly<Record<string, number>>;
}

/**
 * The loop the adaptive optimizers share, in one fixed order of float32 operations:
 * m <- b1 m + (1-b1) d;  v <- rule(v, d^2);  w <- w + step m / (sqrt(v) + tau).
 */
export function adaptiveStep(global: Float32Array, meanDelta: Float32Array, state: ServerState | null, rule: AdaptiveRule): ServerStepResult {
  const n = global.length;
  const b1 = f32(rule.beta1);
  const tau = f32(rule.tau);
  const oneMinusB1 = f32(1 - b1);
  const m0 = stateVector(state, 'm', n);
  const v0 = stateVector(state, 'v', n);
  const m = new Float32Array(n);
  const v = new Float32Array(n);
  const next = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const d = meanDelta[i]!;
    m[i] = f32(f32(b1 * m0[i]!) + f32(oneMinusB1 * d));
    v[i] = rule.secondMoment(v0[i]!, squared(d));
    next[i] = f32(global[i]! + f32(rule.step * f32(m[i]! / f32(f32(Math.sqrt(v[i]!)) + tau))));
  }
  return { global: next, state: { vectors: { m, v }, scalars: rule.scalars } };
}
