import type { SelfOrigins } from './self-origins.js';

/** The `auth` section of the coordinator configuration (coordinator/src/config/schema.ts), as the auth code reads it. */
export interface OidcSettings {
  /** The provider's issuer identifier (the `iss` of its tokens). */
  readonly issuer: string;
  /** The audience its tokens must carry (our client id at the provider). */
  readonly audience: string;
  /** Where its JWKS lives; fetched, cached, and refetched on an unknown kid at most once per cooldown. */
  readonly jwksUri: string;
  /** Claim holding the medfed role (a string or an array of strings). */
  readonly roleClaim: string;
  /** Claim holding the site of a site-bound role. */
  readonly siteClaim: string;
  readonly algorithms: readonly string[];
}

export interface AuthSettings {
  /** This coordinator's issuer identifier: `iss` of its tokens and `aud` of client assertions. */
  readonly issuer: string;
  /** `aud` of the access tokens it issues (itself as a resource server). */
  readonly audience: string;
  readonly nodeTokenSeconds: number;
  readonly personTokenSeconds: number;
  readonly sessionIdleSeconds: number;
  readonly sessionMaxSeconds: number;
  readonly apiKeyDays: number;
  readonly enrollmentCodeHours: number;
  readonly dpopMaxAgeSeconds: number;
  readonly clockSkewSeconds: number;
  readonly streamGraceSeconds: number;
  readonly signingKeyRotationDays: number;
  /** Development on loopback only: gRPC calls without any credential act as the site they name. */
  readonly allowAnonymousNodes: boolean;
  /** Origins (scheme://host:port) REST DPoP proofs may name; empty (development only): `selfOrigins.rest`. */
  readonly restOrigins: readonly string[];
  /** Authorities (host:port) gRPC DPoP proofs may name; empty (development only): `selfOrigins.grpc`. */
  readonly grpcAuthorities: readonly string[];
  /** The addresses this coordinator bound (set once it listens); never taken from a request's headers. */
  readonly selfOrigins?: SelfOrigins | undefined;
  readonly oidc?: OidcSettings | undefined;
}
