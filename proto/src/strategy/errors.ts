import { GrpcStatus, MedfedError, type ErrorTable } from '../errors/medfed-error.js';

/** Refusals of a job's strategy settings, and of a round whose sites disagree on the global model. */
export const STRATEGY_ERRORS = {
  STRATEGY_UNKNOWN: {
    http: 400, grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The job names a strategy that is not in the registry (proto/src/strategy/registry.ts); the message lists the known ones',
  },
  STRATEGY_SETTINGS_INVALID: {
    http: 400, grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'A strategy parameter is unknown to the named strategy, not a finite number, or outside its documented range',
  },
  STRATEGY_NEEDS_PLAINTEXT: {
    http: 400, grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The strategy needs every site\'s individual update (a robust aggregator such as fedmedian, krum or trimmed mean), which an encrypted job never reveals; use it on a plaintext job or choose a sum-based strategy',
  },
  ROUND_MODEL_DIVERGED: {
    http: 409, grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'Sites reported different digests for the same round\'s global model (each rebuilds it from the decrypted sums and the server step); the job is stopped rather than continued on a model that is not shared',
  },
} as const satisfies ErrorTable;

export type StrategyErrorCode = keyof typeof STRATEGY_ERRORS;

export class StrategyError extends MedfedError<StrategyErrorCode> {}
