export { AUTH_ERRORS, AuthError, type AuthErrorCode } from './errors.js';
export {
  TOKEN_TYP, MAX_ACCESS_TOKEN_SECONDS, DEFAULT_ACCESS_TOKEN_SECONDS, MAX_ASSERTION_SECONDS, MAX_DPOP_AGE_SECONDS,
  DEFAULT_CLOCK_SKEW_SECONDS, MAX_JWS_BYTES, SIGNATURE_ALGS, FORBIDDEN_HEADER_PARAMS, GRPC_AUTHORIZATION, GRPC_DPOP, GRPC_HTM,
  SCHEME_BEARER, SCHEME_DPOP, REPLAY_TOKEN_TYPE, type SignatureAlg,
} from './constants.js';
export { PERSON_ROLES, NODE_ROLE, SITE_BOUND_ROLES, isPersonRole, type PersonRole, type Role } from './roles.js';
export { parsePublicJwk, jwkThumbprint, algForJwk, publicKeyFromJwk, publicJwkOf, type PublicJwk } from './jwk.js';
export {
  parseCompactJws, checkAlg, checkHeaderParams, checkTyp, signatureValid, signCompactJws, algOfKey,
  type ParsedJws, type JwsProfile,
} from './jws.js';
export { createDpopProof, verifyDpopProof, accessTokenHash, type DpopProofInput, type DpopExpectation, type VerifiedDpopProof } from './dpop-proof.js';
export {
  createClientAssertion, readClientAssertion, verifyClientAssertion,
  type ClientAssertionInput, type UnverifiedAssertion, type AssertionExpectation,
} from './client-assertion.js';
export { grpcHtu } from './grpc-htu.js';
