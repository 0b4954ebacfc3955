import type { StrategySettings } from '@medfed/proto';

/** One site's contribution to a round: its model delta (local minus global) and sample count. */
export interface Contribution {
  readonly siteId: string;
  readonly numSamples: number;
  readonly update: Float32Array | Float64Array;
}

export interface AggregationInput {
  readonly global: Float32Array;
  /** Streamed one at a time, so memory stays O(model) whatever the number of sites. */
  readonly contributions: AsyncIterable<Contribution>;
  /** The strategy's own server state from the previous round (e.g. momentum), or null. */
  readonly state: StrategyState | null;
  readonly settings: StrategySettings;
}

export type StrategyState = { readonly velocity?: readonly number[] } & Record<string, unknown>;

export interface AggregationResult {
  readonly global: Float32Array;
  readonly state: StrategyState | null;
  readonly contributors: number;
  readonly totalSamples: number;
}

/** An aggregation algorithm over plaintext deltas. One file per strategy, one line in the registry. */
export interface Strategy {
  readonly name: StrategySettings['name'];
  aggregate(input: AggregationInput): Promise<AggregationResult>;
}
