import { GrpcStatus, MedfedError, type ErrorTable } from '../errors/medfed-error.js';

/** Refusals of signed artifact manifests (compact JWS, EdDSA, typ medfed-manifest+jws). */
export const MANIFEST_ERRORS = {
  MANIFEST_MALFORMED: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The manifest is not a compact JWS (three base64url parts with a JSON protected header).',
  },
  MANIFEST_ALG_INVALID: {
    http: 422,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: 'The manifest is not signed with EdDSA (Ed25519), the only algorithm accepted.',
  },
  MANIFEST_TYP_INVALID: {
    http: 422,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: 'The manifest header typ is not medfed-manifest+jws.',
  },
  MANIFEST_HEADER_FORBIDDEN: {
    http: 422,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: 'The manifest header carries a parameter that could redirect key lookup or change processing (jku, x5u, jwk, x5c, crit, b64).',
  },
  MANIFEST_KEY_UNKNOWN: {
    http: 422,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: 'The manifest was signed by a key (kid) that is not in the trusted key set.',
  },
  MANIFEST_SIGNATURE_INVALID: {
    http: 422,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: 'The manifest signature does not verify with the trusted key named by its kid.',
  },
  MANIFEST_SCHEMA_INVALID: {
    http: 422,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The manifest payload does not match the manifest schema.',
  },
  MANIFEST_JWKS_INVALID: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The trusted key set is not a JWKS of Ed25519 public keys with distinct kids.',
  },
  MANIFEST_KEY_INVALID: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The manifest signing key is not an Ed25519 private JWK with a kid.',
  },
  MANIFEST_WRONG_JOB: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The manifest is for another job than the one expected.',
  },
  MANIFEST_STALE_ROUND: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The manifest is for an earlier round than the one expected (replay).',
  },
  MANIFEST_ROUND_MISMATCH: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The manifest is for a later round than the one expected.',
  },
  MANIFEST_WRONG_KIND: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The manifest describes another kind of artifact than the one being loaded.',
  },
} as const satisfies ErrorTable;

export type ManifestErrorCode = keyof typeof MANIFEST_ERRORS;

export class ManifestError extends MedfedError<ManifestErrorCode> {}
