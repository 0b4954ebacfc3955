export type { Strategy, Contribution, AggregationInput, AggregationResult, StrategyState } from './strategy.js';
export { STRATEGIES, strategyFor } from './registry.js';
