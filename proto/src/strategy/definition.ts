import type { ServerState } from './server-state.js';

/** One numeric strategy parameter: its default (Flower's where Flower has one) and its valid range. */
export interface ParameterSpec {
  readonly default: number;
  readonly min: number;
  readonly max: number;
  /** Whether `min` itself is allowed (a learning rate of 0 is not). */
  readonly minExclusive?: boolean;
  readonly describe: string;
}

export type ParameterSpecs = Readonly<Record<string, ParameterSpec>>;

/** A strategy's parameters with every default filled in. */
export type ResolvedParameters<P extends ParameterSpecs> = { readonly [K in keyof P]: number };

/**
 * What the sites put into a round's sum. `weighted-mean`: each site encrypts its weighted update,
 * the coordinator adds ciphertexts, and what is decrypted is the weighted mean of the deltas; every
 * strategy of that kind runs on encrypted jobs. `individual`: the strategy needs each site's update
 * (robust aggregators), which only a plaintext job reveals.
 */
export type Combination = 'weighted-mean' | 'individual';

/** The round-level configuration each training site receives (its local objective). */
export interface ClientConfig {
  /** FedProx: mu/2 ||w - w_global||^2 in the local objective. */
  readonly proximalMu?: number;
}

export interface ServerStepInput<P extends ParameterSpecs> {
  /** The global model before the round. */
  readonly global: Float32Array;
  /** The round's weighted mean delta, rounded to float32 (what decryption yields, or its plaintext twin). */
  readonly meanDelta: Float32Array;
  /** The strategy's state after the previous round, or null before the first. */
  readonly state: ServerState | null;
  readonly parameters: ResolvedParameters<P>;
}

export interface ServerStepResult {
  readonly global: Float32Array;
  readonly state: ServerState | null;
}

export interface IndividualUpdate {
  readonly siteId: string;
  /** The site's weight (its sample-count share). */
  readonly weight: number;
  readonly delta: Float32Array;
}

/**
 * A federated strategy: which sites train, what they are told, how their updates combine and the
 * server step after combination. `serverStep` must be deterministic across machines: plain
 * arithmetic over Float32Array in a fixed order, `Math.fround` after every operation, no TF.js
 * kernel and no `Math.pow` (powers are running products kept in the state). Every site of an
 * encrypted job runs it on the same decrypted mean, so all hold a bit-identical model.
 */
export interface StrategyDefinition<P extends ParameterSpecs = ParameterSpecs> {
  readonly name: string;
  /** One line for `medfed simulate --help` and the docs. */
  readonly summary: string;
  readonly reference: string;
  readonly parameters: P;
  readonly combination: Combination;
  /** The configuration every training site gets this round; default none. */
  clientConfig?(parameters: ResolvedParameters<P>): ClientConfig;
  /** `weighted-mean` strategies: global and state after the round, from the mean delta. */
  serverStep?(input: ServerStepInput<P>): ServerStepResult;
  /** `individual` strategies: the aggregated delta from every site's update (plaintext only). */
  combineIndividual?(updates: readonly IndividualUpdate[], parameters: ResolvedParameters<P>): Float32Array;
}

/** Keeps the literal types of a strategy's name and parameters (what the registry derives the spec from). */
export function defineStrategy<const N extends string, const P extends ParameterSpecs>(
  definition: StrategyDefinition<P> & { readonly name: N },
): StrategyDefinition<P> & { readonly name: N } {
  return definition;
}
