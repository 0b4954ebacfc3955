import { applyServerStep, FixedPointMean, type IndividualUpdate, type ResolvedStrategy, type ServerState } from '@medfed/proto';
import { effectiveWeight, totalWeightOf, type WeightedContributor } from './weights.js';

/** One site's stored update (its delta: local model minus the global model it trained from). */
export interface PlaintextUpdate {
  readonly siteId: string;
  readonly update: Float32Array;
  /** Semi-asynchronous jobs: rounds between the model it trained from and this round (absent or 0: fresh). */
  readonly staleness?: number;
}

export interface PlaintextRoundInput {
  readonly strategy: ResolvedStrategy;
  readonly global: Float32Array;
  /** The strategy's state after the previous round (null before the first, and for stateless strategies). */
  readonly state: ServerState | null;
  /** The fixed-point precision an encrypted twin of the job would encode updates at. */
  readonly fracBits: number;
  /** The share the coordinator announces to each site (what an encrypted site multiplies a fresh update by). */
  readonly weightOf: (siteId: string) => number;
  /** Streamed one at a time, in the order the round's contributions are stored (by site id). */
  readonly updates: AsyncIterable<PlaintextUpdate>;
}

export interface PlaintextRoundResult {
  readonly global: Float32Array;
  readonly state: ServerState | null;
  readonly contributors: readonly string[];
  readonly totalWeight: number;
}

/**
 * A plaintext round over the proto strategy registry. `weighted-mean` strategies see exactly the
 * mean an encrypted round decrypts (FixedPointMean: the same weights, precision and total weight)
 * and take the same server step, so a plaintext job and an encrypted one with the same updates hold
 * bit-identical models. `individual` strategies (robust aggregators) see every weighted update.
 */
export async function runPlaintextRound(input: PlaintextRoundInput): Promise<PlaintextRoundResult> {
  const { strategy, global } = input;
  const contributors: string[] = [];
  const weighted: WeightedContributor[] = [];
  // Records a contribution in arrival order and returns the weight it counts with.
  const take = (u: PlaintextUpdate): number => {
    const c = { siteId: u.siteId, staleness: u.staleness ?? 0 };
    weighted.push(c);
    contributors.push(u.siteId);
    return effectiveWeight(input.weightOf, c);
  };
  if (strategy.definition.combination === 'weighted-mean') {
    const mean = new FixedPointMean(global.length, input.fracBits);
    for await (const u of input.updates) mean.add(checked(u, global.length), take(u));
    const totalWeight = positive(totalWeightOf(weighted, input.weightOf), contributors);
    const next = applyServerStep(strategy, global, mean.mean(totalWeight), input.state);
    return { ...next, contributors, totalWeight };
  }
  const combine = strategy.definition.combineIndividual;
  if (!combine) throw new RangeError(`strategy ${strategy.definition.name} needs individual updates but cannot combine them`);
  const updates: IndividualUpdate[] = [];
  for await (const u of input.updates) updates.push({ siteId: u.siteId, delta: checked(u, global.length), weight: take(u) });
  const totalWeight = positive(totalWeightOf(weighted, input.weightOf), contributors);
  const next = applyServerStep(strategy, global, combine(updates, strategy.parameters), input.state);
  return { ...next, contributors, totalWeight };
}

function checked(u: PlaintextUpdate, length: number): Float32Array {
  if (u.update.length !== length) throw new RangeError(`update of ${u.siteId} has ${u.update.length} values, expected ${length}`);
  return u.update;
}

/** A mean over no weight is no mean: the round cannot close on it (the quorum normally rules this out). */
function positive(totalWeight: number, contributors: readonly string[]): number {
  if (!(totalWeight > 0)) throw new RangeError(`the round's contributors (${contributors.join(', ') || 'none'}) carry no weight`);
  return totalWeight;
}
