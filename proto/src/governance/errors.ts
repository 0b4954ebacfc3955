import { GrpcStatus, MedfedError, type ErrorTable } from '../errors/medfed-error.js';

/**
 * Refusals of the hospitals' signed decisions (docs/governance.md): a steward's or a roster
 * auditor's approval of a release, an audit purge or a rule change, the quorum they must reach,
 * and the steward-signed consortium roster that says who decides.
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
  ROSTER_INVALID: {
    http: 400, grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: "The consortium roster is malformed, or a site's embedded steward key does not have the thumbprint the roster lists.",
  },
  ROSTER_UNSIGNED: {
    http: 403, grpc: GrpcStatus.PERMISSION_DENIED,
    summary: "A site on the consortium roster has not signed it (the message names the sites); every listed site's steward signs before any site imports it or the coordinator installs it.",
  },
  ROSTER_SIGNATURE_INVALID: {
    http: 403, grpc: GrpcStatus.PERMISSION_DENIED,
    summary: 'A roster signature does not verify with the steward key the roster lists for its site, names a site not on the roster, or signs another roster.',
  },
  ROSTER_SITE_MISSING: {
    http: 403, grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'This site is not on the consortium roster with its own steward and key-agreement keys, so it neither signs nor imports it.',
  },
  ROSTER_OUTDATED: {
    http: 409, grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The roster has a lower version than the one of the same consortium this site imported already, or (coordinator) a version no higher than the roster installed there.',
  },
  GOVERNANCE_ROSTER_MISSING: {
    http: 404, grpc: GrpcStatus.NOT_FOUND,
    summary: 'No consortium roster is installed on the coordinator (POST /v1/governance/roster, or governance.rosterFile).',
  },
  GOVERNANCE_ROSTER_INVALID: {
    http: 409, grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: "The roster the coordinator holds no longer verifies (a stored row whose signatures, digest, version or replacement approvals do not check out), or governance.rosterFile cannot be read; nothing it governs is done until it verifies again.",
  },
  GOVERNANCE_ROSTER_CONFLICT: {
    http: 409, grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The roster is for another consortium than the one installed, or has the installed version with other content; at start, governance.rosterFile differs from the installed roster in a way only an approved replacement may (medfed governance roster install FILE --approval ...).',
  },
  AUDIT_PURGE_NOT_APPROVED: {
    http: 409, grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: "medfed audit verify --roster: a purge inside retention in the bundle names a roster digest that is not a pinned roster's, or its recorded approvals do not reach that roster's rule (the message names the event's seq, the digest and what is missing).",
  },
  GOVERNANCE_ROSTER_UNPINNED: {
    http: 409, grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'medfed audit verify --roster: the bundle records a roster installed or replaced on the coordinator whose digest is not a pinned roster\'s; a legitimate rule change means pinning the new roster too.',
  },
} as const satisfies ErrorTable;

export type GovernanceErrorCode = keyof typeof GOVERNANCE_ERRORS;

export class GovernanceError extends MedfedError<GovernanceErrorCode> {}
