import type { ServerState } from './server-state.js';
import type { ResolvedStrategy } from './registry.js';

/**
 * One round's server step, the same function on both runners: the coordinator on a plaintext job
 * (after FixedPointMean over the stored updates), every site on an encrypted one (after decrypting
 * the round's sum).
 */
export function applyServerStep(strategy: ResolvedStrategy, global: Float32Array, meanDelta: Float32Array, state: ServerState | null): { global: Float32Array; state: ServerState | null } {
  if (meanDelta.length !== global.length) throw new RangeError(`the round's delta has ${meanDelta.length} values, the model ${global.length}`);
  const step = strategy.definition.serverStep;
  if (!step) throw new RangeError(`strategy ${strategy.definition.name} has no server step`);
  return step({ global, meanDelta, state, parameters: strategy.parameters });
}
