import { GrpcStatus, MedfedError, type ErrorTable } from '../errors/medfed-error.js';

/**
 * Refusals of the hospitals' signed decisions (docs/governance.md): a steward's or a roster
 * auditor's approval of a release, an audit purge or a rule change, and the quorum they must reach.
 */
export const GOVERNANCE_ERRORS = {
  STEWARD_APPROVAL_INVALID: {
    http: 400, grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'A signed approval is not a compact Ed25519 JWS of typ medfed-steward-approval+jws over the RFC 8785 form of exactly its claims, or it is over 4 KiB',
  },
  STEWARD_APPROVAL_SIGNATURE_INVALID: {
    http: 403, grpc: GrpcStatus.PERMISSION_DENIED,
    summary: 'A signed approval names a signer whose pinned key is unknown here, or its signature does not verify with that pinned key (never with a key the approval carries)',
  },
  STEWARD_APPROVAL_MISMATCH: {
    http: 409, grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'A signed approval is for another consortium, job, release, round, step or input digest than the decision it is offered for',
  },
  STEWARD_APPROVAL_EXPIRED: {
    http: 409, grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'A signed approval has expired, or its expiry lies further ahead than the longest lifetime an approval may have (30 days)',
  },
  APPROVAL_QUORUM_NOT_MET: {
    http: 403, grpc: GrpcStatus.PERMISSION_DENIED,
    summary: 'Fewer valid signed approvals than the rule requires (the message names who signed, who is missing and why any were not counted); nothing was done',
  },
} as const satisfies ErrorTable;

export type GovernanceErrorCode = keyof typeof GOVERNANCE_ERRORS;

export class GovernanceError extends MedfedError<GovernanceErrorCode> {}
