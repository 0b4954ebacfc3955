import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';
import { ATTESTATION_ERRORS } from '@medfed/proto/attestation/index';

/**
 * The coordinator's attestation policy: the format refusals of @medfed/proto plus every reason an
 * authentic attestation is still not good enough. Every code fails closed: the update it
 * accompanies is not accepted.
 */
export const ATTESTATION_POLICY_ERRORS = {
  ...ATTESTATION_ERRORS,
  ATTESTATION_KEY_UNKNOWN: {
    http: 401,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: 'The node has no registered attestation key, so nothing it signs can be verified.',
  },
  ATTESTATION_SITE_MISMATCH: {
    http: 403,
    grpc: GrpcStatus.PERMISSION_DENIED,
    summary: 'The attestation names another site than the authenticated node that submitted it.',
  },
  ATTESTATION_JOB_MISMATCH: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The attestation is for another job than the update it accompanies.',
  },
  ATTESTATION_ROUND_MISMATCH: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The attestation is for another round than the update it accompanies.',
  },
  ATTESTATION_MANIFEST_MISMATCH: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: "The attestation names another global model manifest than the round's.",
  },
  ATTESTATION_UPDATE_MISMATCH: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The attestation was made for other update bytes than those submitted.',
  },
  ATTESTATION_EXPIRED: {
    http: 401,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: 'The attestation is past its exp.',
  },
  ATTESTATION_NOT_YET_VALID: {
    http: 401,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: "The attestation's iat lies in the future beyond the allowed clock skew.",
  },
  ATTESTATION_MEASUREMENT_UNKNOWN: {
    http: 403,
    grpc: GrpcStatus.PERMISSION_DENIED,
    summary: 'The trainer build digest is not on the allowlist of approved trainers.',
  },
  ATTESTATION_SANDBOX_POLICY_UNKNOWN: {
    http: 403,
    grpc: GrpcStatus.PERMISSION_DENIED,
    summary: 'The sandbox policy digest is not on the allowlist of approved sandbox policies.',
  },
  ATTESTATION_UNSANDBOXED: {
    http: 403,
    grpc: GrpcStatus.PERMISSION_DENIED,
    summary: 'The trainer ran without the sandbox (development mode); a production coordinator refuses its updates.',
  },
  ATTESTATION_NONCE_UNKNOWN: {
    http: 401,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: 'The nonce was never issued for this job, round and site.',
  },
  ATTESTATION_NONCE_REPLAYED: {
    http: 409,
    grpc: GrpcStatus.ALREADY_EXISTS,
    summary: 'The nonce was already used by an accepted attestation (replay).',
  },
  ATTESTATION_NONCE_STALE: {
    http: 401,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: 'The nonce expired or was superseded by a newer nonce for the same job, round and site.',
  },
  KEY_RELEASE_UNATTESTED: {
    http: 403,
    grpc: GrpcStatus.PERMISSION_DENIED,
    summary: "A job's wrapped key was requested without an attestation for this job and key epoch (RequestKeyReleaseNonce, then FetchJobKey with the attestation).",
  },
  KEY_RELEASE_EPOCH_CHANGED: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: "The job's key epoch changed after the key-release attestation was made; request a new nonce and attest again.",
  },
  ATTESTATION_POLICY_INVALID: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The verifier was called with an invalid policy (environment, expected values, clock).',
  },
} as const satisfies ErrorTable;

export type AttestationPolicyErrorCode = keyof typeof ATTESTATION_POLICY_ERRORS;

export class AttestationVerificationError extends MedfedError<AttestationPolicyErrorCode> {}
