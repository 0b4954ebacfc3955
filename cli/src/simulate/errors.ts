import { MedfedError, GrpcStatus, type ErrorTable } from '@medfed/proto';

/** Refusals of the simulation data tools behind `medfed simulate` and `medfed demo`. */
export const SIMULATE_ERRORS = {
  SIMULATE_ARGUMENT_INVALID: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'A simulation argument (row count, seed, fraction, site count) is out of range.',
  },
  SIMULATE_PARTITION_SPEC_INVALID: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The partition scheme is not one of iid, dirichlet:ALPHA or by-column:COLUMN.',
  },
  SIMULATE_PARTITION_INFEASIBLE: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The rows cannot be split into the requested sites under the scheme and minimum size.',
  },
} as const satisfies ErrorTable;

export type SimulateErrorCode = keyof typeof SIMULATE_ERRORS;

export class SimulateError extends MedfedError<SimulateErrorCode> {}
