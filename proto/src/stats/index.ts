export {
  STATISTICS, DEFAULT_MIN_CELL_SIZE, DEFAULT_DECIMALS, MAX_STATS_VALUES, StatsQuerySchema, parseStatsQuery, parseStatsQueryText,
  type Statistic, type StatsQuery, type StatsField, type StatsGroupBy,
} from './query.js';
export { statsLayout, groupCells, cellIndex, fixedPoint, binOf, type StatsLayout, type FieldSlots } from './layout.js';
export { bigintsToLimbs, limbsToBigints } from './exact-limbs.js';
export { noisePlan, noiseBound, gaussianSigma2, BOUND_FAILURE_PROBABILITY, type KindNoise, type NoiseKind } from './dp.js';
export { suppressCells, type SuppressionOutcome } from './suppression.js';
export { quantilesFromHistogram, binWidth } from './quantiles.js';
export { computeStatsResult, type StatsResult, type CellResult, type FieldResult, type ResultContext } from './result.js';
export { STATS_RESULT_TYP, signStatsResult, verifyStatsResult } from './statement.js';
export { queryDigest } from './digest.js';
