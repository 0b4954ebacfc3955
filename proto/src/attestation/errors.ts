import { GrpcStatus, MedfedError, type ErrorTable } from '../errors/medfed-error.js';

/**
 * Refusals of the attestation format itself (compact JWS, EdDSA, typ medfed-attestation+jwt) and
 * of attestation keys. The coordinator's policy codes (measurement, nonce, update binding) extend
 * this table in coordinator/src/attestation/errors.ts.
 */
export const ATTESTATION_ERRORS = {
  ATTESTATION_MALFORMED: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The attestation is not a compact JWS (three base64url parts, JSON header and claims, at most 16 KiB).',
  },
  ATTESTATION_ALG_INVALID: {
    http: 401,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: 'The attestation is not signed with EdDSA (Ed25519), the only algorithm accepted.',
  },
  ATTESTATION_TYP_INVALID: {
    http: 401,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: 'The attestation header typ is not medfed-attestation+jwt: another kind of token was presented.',
  },
  ATTESTATION_HEADER_FORBIDDEN: {
    http: 401,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: 'The attestation header carries a parameter that could redirect key lookup or change processing (jku, x5u, jwk, x5c, crit, b64).',
  },
  ATTESTATION_SIGNATURE_INVALID: {
    http: 401,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: "The attestation signature does not verify with any of the node's registered attestation keys (altered, or signed by another node).",
  },
  ATTESTATION_CLAIMS_INVALID: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The attestation claims do not match the attestation claim schema.',
  },
  ATTESTATION_MEASUREMENT_INVALID: {
    http: 500,
    grpc: GrpcStatus.INTERNAL,
    summary: 'A trainer bundle or sandbox policy cannot be measured (a path that could alias another entry, a duplicate, a value without a JSON form).',
  },
  ATTESTATION_KEY_INVALID: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The attestation key is not an Ed25519 JWK of the expected kind (private for signing, public for verifying).',
  },
  ATTESTATION_KEY_FILE_UNSAFE: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The attestation key file is readable or writable by other users (it must be mode 0600) or is not a regular file.',
  },
  ATTESTATION_ATTESTER_UNSUPPORTED: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The attester kind is reserved (sgx, tdx, sev-snp) and has no implementation or verifier yet.',
  },
} as const satisfies ErrorTable;

export type AttestationErrorCode = keyof typeof ATTESTATION_ERRORS;

export class AttestationError extends MedfedError<AttestationErrorCode> {}
