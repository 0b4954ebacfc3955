import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';

/** Refusals and failures of the training sandbox. A site that raises one of these sends no update. */
export const SANDBOX_ERRORS = {
  SANDBOX_UNAVAILABLE: {
    http: 503,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The sandbox cannot run on this host (bubblewrap, user namespaces, prlimit or seccomp missing); production agents refuse to train.',
  },
  SANDBOX_BREACH: {
    http: 500,
    grpc: GrpcStatus.ABORTED,
    summary: 'The trainer was stopped for a fatal breach of the sandbox policy (network, write, read, fork, memory, CPU, wall time or exit).',
  },
  SANDBOX_TRAINER_FAILED: {
    http: 500,
    grpc: GrpcStatus.ABORTED,
    summary: 'The trainer reported an error (its own code is in details.trainerCode) and produced no weights.',
  },
  SANDBOX_POLICY_INVALID: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The sandbox limits, thresholds or paths are invalid.',
  },
  SANDBOX_BUNDLE_INVALID: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The trainer bundle could not be traced, staged or measured.',
  },
  SANDBOX_SPAWN_FAILED: {
    http: 500,
    grpc: GrpcStatus.INTERNAL,
    summary: 'The sandbox process could not be started.',
  },
} as const satisfies ErrorTable;

export type SandboxErrorCode = keyof typeof SANDBOX_ERRORS;

export class SandboxError extends MedfedError<SandboxErrorCode> {}
