export { STRATEGY_ERRORS, StrategyError, type StrategyErrorCode } from './errors.js';
export {
  defineStrategy, type StrategyDefinition, type ParameterSpec, type ParameterSpecs, type ResolvedParameters, type Combination,
  type ClientConfig, type ServerStepInput, type ServerStepResult, type IndividualUpdate,
} from './definition.js';
export { encodeServerState, decodeServerState, stateVector, stateScalar, type ServerState } from './server-state.js';
export { FixedPointMean, meanDeltaOf, toMeanDelta } from './fixed-point-mean.js';
export { f32, addDelta, plainServerStep, squared } from './float32-ops.js';
export {
  STRATEGIES, STRATEGY_NAMES, registerStrategy, unregisterStrategy, knownStrategyNames, strategyDefinition, resolveStrategy,
  type StrategyName, type StrategyParameterName, type ResolvedStrategy,
} from './registry.js';
export { applyServerStep } from './apply-round.js';
export { paramsSha256 } from './params-digest.js';
export { semiAsyncOf, stalenessFactor, stalenessWeight, SEMI_ASYNC_KEYS, DEFAULT_MAX_STALENESS, MAX_STALENESS_LIMIT, type SemiAsyncSettings } from './semi-async.js';
