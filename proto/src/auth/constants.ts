/**
 * Wire constants of medfed's credentials. Lifetimes are upper bounds the verifiers enforce, whatever
 * a configuration or a forged token says.
 */

/** JWS `typ` of each credential kind, so that none can be presented as another (RFC 8725 §3.11). */
export const TOKEN_TYP = {
  /** RFC 9068 access token. */
  access: 'at+jwt',
  /** RFC 9449 DPoP proof. */
  dpop: 'dpop+jwt',
  /** RFC 7523 client assertion (typ as in the RFC 7523 update draft). */
  assertion: 'client-authentication+jwt',
} as const;

/** An access token lives 15 minutes at most; the default is 5. */
export const MAX_ACCESS_TOKEN_SECONDS = 900;
export const DEFAULT_ACCESS_TOKEN_SECONDS = 300;
/** A client assertion is valid for 60 s at most (exp - iat and exp - now). */
export const MAX_ASSERTION_SECONDS = 60;
/** A DPoP proof older than this is refused. */
export const MAX_DPOP_AGE_SECONDS = 60;
/** Clock difference tolerated between an agent and the coordinator. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 5;
/** Largest credential accepted, before any parsing. */
export const MAX_JWS_BYTES = 8192;

/** Algorithms accepted for signatures: Ed25519 and P-256. Nothing symmetric, nothing unsigned. */
export const SIGNATURE_ALGS = ['EdDSA', 'ES256'] as const;
export type SignatureAlg = (typeof SIGNATURE_ALGS)[number];

/** Header parameters that would let a token choose its own key or change processing. */
export const FORBIDDEN_HEADER_PARAMS = ['jku', 'x5u', 'jwk', 'x5c', 'x5t', 'x5t#S256', 'crit', 'b64'] as const;

/** gRPC metadata keys carrying credentials, and the method every gRPC call is proven for. */
export const GRPC_AUTHORIZATION = 'authorization';
export const GRPC_DPOP = 'dpop';
/** gRPC runs over HTTP/2 POST: a DPoP proof for a gRPC call has `htm` POST (docs/auth.md). */
export const GRPC_HTM = 'POST';

/** Authorization schemes: people present Bearer tokens, nodes present key-bound DPoP tokens. */
export const SCHEME_BEARER = 'Bearer';
export const SCHEME_DPOP = 'DPoP';

/** Replay-cache namespaces (`token_type` column). */
export const REPLAY_TOKEN_TYPE = { dpop: 'DPoP', assertion: 'client-assertion' } as const;
