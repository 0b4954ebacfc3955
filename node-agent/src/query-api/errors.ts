import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';

/**
 * Refusals of the local query API that the masking layer does not already name (its MASK_* codes
 * are answered as they are). Messages name fields and claims, never a patient's value.
 */
export const QUERY_API_ERRORS = {
  QUERY_AUTH_REQUIRED: {
    http: 401,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: 'The request carries no credential: send Authorization: Bearer <hospital token or local API key>.',
  },
  QUERY_TOKEN_INVALID: {
    http: 401,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: "The token is malformed, expired, not yet valid, or not for this API's audience.",
  },
  QUERY_TOKEN_UNTRUSTED_ISSUER: {
    http: 401,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: "The token was issued by someone other than the hospital's identity provider (a coordinator token, for one); only the hospital's own identity is trusted.",
  },
  QUERY_TOKEN_UNTRUSTED_KEY: {
    http: 401,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: "The token's signature does not verify with the hospital identity provider's keys (its key is not in the site's JWKS).",
  },
  QUERY_API_KEY_INVALID: {
    http: 401,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: 'The API key is unknown, revoked or malformed (keys are issued by the site steward: medfed agent users add).',
  },
  QUERY_IDENTITY_UNCONFIGURED: {
    http: 401,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: 'The credential is of a kind this API is not configured to accept (no OIDC provider, or API keys turned off).',
  },
  QUERY_ROLE_UNMAPPED: {
    http: 403,
    grpc: GrpcStatus.PERMISSION_DENIED,
    summary: "The identity carries no role that maps to clinician, researcher, auditor or site-steward.",
  },
  QUERY_INVALID: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The request does not match the endpoint schema (the message names the parameter).',
  },
  QUERY_TOO_MANY_RECORDS: {
    http: 413,
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    summary: 'The result would hold more records than one response may carry; narrow the query or page it with limit and offset.',
  },
  QUERY_FAILED: {
    http: 500,
    grpc: GrpcStatus.INTERNAL,
    summary: "The request failed inside the agent; the site's log has the detail (the answer never quotes data).",
  },
  QUERY_NOT_FOUND: {
    http: 404,
    grpc: GrpcStatus.NOT_FOUND,
    summary: 'No such endpoint.',
  },
  QUERY_USER_INVALID: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'A local user needs a name (1-64 letters, digits, . _ @ -) and a role of clinician, researcher, auditor or site-steward.',
  },
  QUERY_USERS_STATE_INVALID: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: "The local users file is unreadable, not valid, or readable by others (must be mode 0600).",
  },
  QUERY_API_CONFIG_INVALID: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The query API configuration is not usable (no identity source, no TLS off loopback in production, unreadable JWKS).',
  },
} as const satisfies ErrorTable;

export type QueryApiErrorCode = keyof typeof QUERY_API_ERRORS;

export class QueryApiError extends MedfedError<QueryApiErrorCode> {}
