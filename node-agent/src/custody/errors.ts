import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';

/**
 * Refusals of the site's key-custody trust: pinned peers and the steward's approval of a job's site
 * list (docs/site-pinning.md). The signed consortium roster's refusals (ROSTER_*) are shared with the
 * coordinator: GOVERNANCE_ERRORS in @medfed/proto/governance.
 */
export const CUSTODY_ERRORS = {
  PIN_INVALID: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'A pin names a site id or a thumbprint in a form the agent does not accept (thumbprints are base64url SHA-256, 43 characters).',
  },
  PIN_CONFLICT: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The site is already pinned with other thumbprints; re-pinning it needs --replace (the message says what would change).',
  },
  PIN_SELF_MISMATCH: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: "A pin for this site names other keys than its own; this site's entry is pinned from its own keys only.",
  },
  SITE_LIST_NOT_ANNOUNCED: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: "The agent has not received this job's site list yet; start the agent so the key ceremony announces it, then approve it.",
  },
  SITE_LIST_APPROVAL_STATE_INVALID: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: "The agent's site-list approvals file is unreadable, not valid, or readable by group or others (must be mode 0600).",
  },
} as const satisfies ErrorTable;

export type CustodyErrorCode = keyof typeof CUSTODY_ERRORS;

export class CustodyError extends MedfedError<CustodyErrorCode> {}
