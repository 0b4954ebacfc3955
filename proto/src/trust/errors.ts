import { GrpcStatus, MedfedError, type ErrorTable } from '../errors/medfed-error.js';

/** Refusals of a consortium trust bundle (docs/trust.md): its format, its fingerprint, and pinning it at a site. */
export const TRUST_BUNDLE_ERRORS = {
  TRUST_BUNDLE_MISSING: {
    http: 404, grpc: GrpcStatus.NOT_FOUND,
    summary: 'The directory holds no trust bundle: there is no readable trust.json in it',
  },
  TRUST_BUNDLE_INVALID: {
    http: 400, grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'trust.json is not a trust bundle manifest, or a file it lists is missing, differs from its listed SHA-256, or is not what its role says (manifest or token JWKS, signed-note log verifier key, X.509 CA certificate)',
  },
  TRUST_BUNDLE_FINGERPRINT_INVALID: {
    http: 400, grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The fingerprint given is not 32 base32 characters (RFC 4648 alphabet, usually written as 8 groups of 4 joined by -)',
  },
  TRUST_BUNDLE_FINGERPRINT_MISMATCH: {
    http: 412, grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: "The bundle's fingerprint is not the one the coordinator's operator announced: it is not the bundle they exported; nothing was pinned",
  },
  TRUST_BUNDLE_VERSION_OLDER: {
    http: 409, grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The bundle is older than the version this site has pinned; nothing was pinned',
  },
  TRUST_BUNDLE_VERSION_REUSED: {
    http: 409, grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The bundle has the version this site has pinned but other content (a rotation needs a new version); nothing was pinned',
  },
} as const satisfies ErrorTable;

export type TrustBundleErrorCode = keyof typeof TRUST_BUNDLE_ERRORS;

export class TrustBundleError extends MedfedError<TrustBundleErrorCode> {}
