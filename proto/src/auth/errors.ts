import { GrpcStatus, MedfedError, type ErrorTable } from '../errors/medfed-error.js';

const UNAUTHENTICATED = { http: 401, grpc: GrpcStatus.UNAUTHENTICATED } as const;
const FORBIDDEN = { http: 403, grpc: GrpcStatus.PERMISSION_DENIED } as const;

/**
 * Refusals of identity and access: credentials (tokens, DPoP proofs, client assertions, API keys,
 * enrollment codes, sessions) and authorization. Every forged or misused credential gets one of these
 * codes, in the same `{code, message}` body on REST and the same status + `medfed-code` trailer on gRPC.
 */
export const AUTH_ERRORS = {
  AUTH_CREDENTIAL_MISSING: { ...UNAUTHENTICATED, summary: 'No credential was presented for an operation that requires one.' },
  AUTH_SCHEME_INVALID: { ...UNAUTHENTICATED, summary: 'The authorization scheme does not fit the token (Bearer for people, DPoP for key-bound node tokens).' },
  AUTH_MALFORMED: { ...UNAUTHENTICATED, summary: 'The credential is not a well-formed compact JWS with JSON header and claims, or is too large.' },
  AUTH_ALG_FORBIDDEN: { ...UNAUTHENTICATED, summary: 'The JWS algorithm is not accepted (none, HMAC, or not the algorithm of the named key).' },
  AUTH_HEADER_FORBIDDEN: { ...UNAUTHENTICATED, summary: 'The JWS header carries a parameter that could redirect key lookup or change processing (jku, x5u, jwk, x5c, crit, b64).' },
  AUTH_TYP_INVALID: { ...UNAUTHENTICATED, summary: 'The JWS typ is not the one this credential must have (another kind of token was presented).' },
  AUTH_KID_INVALID: { ...UNAUTHENTICATED, summary: 'The JWS kid is missing, not a string, or not a key identifier.' },
  AUTH_KID_UNKNOWN: { ...UNAUTHENTICATED, summary: 'The JWS kid names no key this coordinator publishes.' },
  AUTH_SIGNATURE_INVALID: { ...UNAUTHENTICATED, summary: 'The signature does not verify with the named key.' },
  AUTH_CLAIMS_INVALID: { ...UNAUTHENTICATED, summary: 'A required claim is missing or ill-typed, or the lifetime exceeds the limit.' },
  AUTH_ISSUER_INVALID: { ...UNAUTHENTICATED, summary: 'The token was not issued by this coordinator (iss).' },
  AUTH_AUDIENCE_INVALID: { ...UNAUTHENTICATED, summary: 'The token is meant for another audience (aud).' },
  AUTH_TOKEN_EXPIRED: { ...UNAUTHENTICATED, summary: 'The token has expired.' },
  AUTH_TOKEN_NOT_YET_VALID: { ...UNAUTHENTICATED, summary: 'The token is not valid yet (iat or nbf in the future).' },
  AUTH_DPOP_MISSING: { ...UNAUTHENTICATED, summary: 'A key-bound token came without a DPoP proof.' },
  AUTH_DPOP_INVALID: { ...UNAUTHENTICATED, summary: 'The DPoP proof is malformed, uses a forbidden algorithm or key, or its signature does not verify.' },
  AUTH_DPOP_MISMATCH: { ...UNAUTHENTICATED, summary: 'The DPoP proof is for another method, URL or access token (htm, htu, ath).' },
  AUTH_DPOP_STALE: { ...UNAUTHENTICATED, summary: 'The DPoP proof is older than the accepted window, or dated in the future.' },
  AUTH_DPOP_KEY_MISMATCH: { ...UNAUTHENTICATED, summary: 'The DPoP proof was signed by another key than the one the token is bound to (cnf.jkt).' },
  AUTH_DPOP_REPLAYED: { ...UNAUTHENTICATED, summary: 'The DPoP proof was already used (its jti is in the replay cache).' },
  AUTH_ASSERTION_INVALID: { ...UNAUTHENTICATED, summary: 'The client assertion is malformed, expired, too long-lived, for another audience, or not signed by the site key.' },
  AUTH_ASSERTION_REPLAYED: { ...UNAUTHENTICATED, summary: 'The client assertion was already used (its jti is in the replay cache).' },
  AUTH_SITE_NOT_ENROLLED: { ...UNAUTHENTICATED, summary: 'The site has no enrolled key.' },
  AUTH_KEY_REVOKED: { ...UNAUTHENTICATED, summary: 'The key the credential is bound to is no longer the site key (rotated or re-enrolled).' },
  AUTH_STREAM_EXPIRED: { ...UNAUTHENTICATED, summary: 'A stream outlived its token by more than the allowed grace; open a new one with a fresh token.' },
  AUTH_SITE_SUSPENDED: { ...FORBIDDEN, summary: 'The site is suspended: none of its credentials are honoured.' },
  AUTH_SITE_REVOKED: { ...FORBIDDEN, summary: 'The site was revoked for good: none of its credentials are honoured, it cannot enrol again or be reinstated.' },
  AUTH_SITE_SCOPE: { ...FORBIDDEN, summary: 'The credential acts only for its own site, and this request concerns another.' },
  AUTH_ROLE_FORBIDDEN: { ...FORBIDDEN, summary: 'The policy does not grant this operation to the caller\'s role.' },
  AUTH_NO_POLICY: { ...FORBIDDEN, summary: 'The operation has no policy entry and is denied by default.' },
  AUTH_API_KEY_INVALID: { ...UNAUTHENTICATED, summary: 'The API key is unknown or its secret does not match.' },
  AUTH_API_KEY_EXPIRED: { ...UNAUTHENTICATED, summary: 'The API key has expired.' },
  AUTH_API_KEY_REVOKED: { ...UNAUTHENTICATED, summary: 'The API key was revoked.' },
  AUTH_SESSION_IDLE: { ...UNAUTHENTICATED, summary: 'The session ended after inactivity (automatic logoff); log in again.' },
  AUTH_SESSION_ENDED: { ...UNAUTHENTICATED, summary: 'The session ended (logout, revoked key, or maximum age); log in again.' },
  AUTH_ENROLLMENT_CODE_INVALID: { ...UNAUTHENTICATED, summary: 'The enrollment code is unknown or belongs to another site.' },
  AUTH_ENROLLMENT_CODE_EXPIRED: { ...UNAUTHENTICATED, summary: 'The enrollment code has expired; ask for a new one.' },
  AUTH_ENROLLMENT_CODE_USED: { ...UNAUTHENTICATED, summary: 'The enrollment code was already used; ask for a new one.' },
  AUTH_OIDC_DISABLED: { http: 400, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'Login with an external OpenID Connect provider is not configured.' },
  AUTH_OIDC_TOKEN_INVALID: { ...UNAUTHENTICATED, summary: 'The OpenID Connect token does not verify against the provider keys, issuer and audience.' },
  AUTH_OIDC_ROLE_MISSING: { ...FORBIDDEN, summary: 'The OpenID Connect token carries no single medfed role in the configured claim.' },
  AUTH_OIDC_UNAVAILABLE: { http: 503, grpc: GrpcStatus.UNAVAILABLE, summary: 'The OpenID Connect provider keys could not be fetched.' },
  AUTH_REQUEST_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'The authentication request does not have the expected shape.' },
  AUTH_ROLE_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'The role is unknown, or a site role was given without a site (or the reverse).' },
  AUTH_KEY_NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND, summary: 'No API key with this id exists.' },
  AUTH_SIGNING_KEY_INVALID: { http: 500, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'A token signing key is unreadable or not a supported private key.' },
  AUTH_IDENTITY_MISSING: { ...UNAUTHENTICATED, summary: 'This agent has not enrolled yet (no key or identity in its state directory).' },
  AUTH_IDENTITY_INVALID: { ...UNAUTHENTICATED, summary: 'The agent key or identity file is unreadable, corrupt, or readable by others.' },
} as const satisfies ErrorTable;

export type AuthErrorCode = keyof typeof AUTH_ERRORS;

export class AuthError extends MedfedError<AuthErrorCode> {}
