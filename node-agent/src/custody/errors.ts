import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';

/**
 * Refusals of the site's key-custody trust: pinned peers, the signed consortium roster and the
 * steward's approval of a job's site list (docs/site-pinning.md).
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
  ROSTER_INVALID: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: "The consortium roster is malformed, or a site's embedded steward key does not have the thumbprint the roster lists.",
  },
  ROSTER_UNSIGNED: {
    http: 403,
    grpc: GrpcStatus.PERMISSION_DENIED,
    summary: "A site on the consortium roster has not signed it (the message names the sites); every listed site's steward signs before any site imports it.",
  },
  ROSTER_SIGNATURE_INVALID: {
    http: 403,
    grpc: GrpcStatus.PERMISSION_DENIED,
    summary: 'A roster signature does not verify with the steward key the roster lists for its site, names a site not on the roster, or signs another roster.',
  },
  ROSTER_SITE_MISSING: {
    http: 403,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'This site is not on the consortium roster with its own steward and key-agreement keys, so it neither signs nor imports it.',
  },
  ROSTER_OUTDATED: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The roster has a lower version than the one of the same consortium this site imported already.',
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
