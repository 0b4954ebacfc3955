import type { ServerStepResult } from './definition.js';

/**
 * Float32 arithmetic in a fixed order: every operation is rounded to float32 at once, so a server
 * step computes the same bits on every machine (V8's doubles are IEEE 754 with correctly rounded
 * +, -, *, / and sqrt; no fused multiply-add, no SIMD reassociation, no TF.js kernel).
 */
export const f32 = Math.fround;

/** w + d, element by element, rounded: FedAvg's step and the robust aggregators'. */
export function addDelta(global: Float32Array, delta: Float32Array): Float32Array {
  const next = new Float32Array(global.length);
  for (let i = 0; i < global.length; i++) next[i] = f32(global[i]! + delta[i]!);
  return next;
}

/** The pseudo-gradient's square, rounded. */
export function squared(d: number): number {
  return f32(d * d);
}

/** The stateless server step w + delta: FedAvg's and FedProx's, and the robust aggregators' after combining. */
export function plainServerStep({ global, meanDelta }: { readonly global: Float32Array; readonly meanDelta: Float32Array }): ServerStepResult {
  return { global: addDelta(global, meanDelta), state: null };
}
