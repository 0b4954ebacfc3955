import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';

/** Every refusal of the site's privacy toolkit: accountant, noise samplers and budget ledger. */
export const PRIVACY_ERRORS = {
  PRIVACY_INVALID_PARAMETER: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'A privacy parameter (sample rate, noise multiplier, steps, delta, order, epsilon, scale) is missing or out of range.',
  },
  PRIVACY_RDP_ORDERS_MISMATCH: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'Two RDP vectors were combined that were computed at different orders.',
  },
  PRIVACY_BUDGET_EXCEEDED: {
    http: 403,
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    summary: "The release would take the dataset's spent (epsilon, delta) past its privacy budget.",
  },
  PRIVACY_BUDGET_NOT_SET: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The dataset has no privacy budget yet; a site steward must set one before any DP release.',
  },
  PRIVACY_LEDGER_INVALID_DATASET: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The dataset id is not 1-128 characters of letters, digits, dot, underscore or hyphen.',
  },
  PRIVACY_LEDGER_CORRUPT: {
    http: 500,
    grpc: GrpcStatus.DATA_LOSS,
    summary: 'The privacy ledger file is unreadable or does not match the ledger format; spends are refused until it is restored.',
  },
  PRIVACY_LEDGER_LOCKED: {
    http: 503,
    grpc: GrpcStatus.UNAVAILABLE,
    summary: 'The privacy ledger lock could not be taken in time; another process is holding it.',
  },
} as const satisfies ErrorTable;

export type PrivacyErrorCode = keyof typeof PRIVACY_ERRORS;

export class PrivacyError extends MedfedError<PrivacyErrorCode> {}
