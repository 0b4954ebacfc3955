import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';

/** Refusals of the release workflow (docs/releases.md). One row per stable code. */
export const RELEASE_ERRORS = {
  RELEASE_UNKNOWN: { http: 404, grpc: GrpcStatus.NOT_FOUND, summary: 'No release with this id exists.' },
  RELEASE_REQUEST_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'The release request is invalid (round without a closed global model, missing reason).' },
  RELEASE_EXISTS: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS, summary: 'This round of the job already has a release in progress or released.' },
  RELEASE_NOT_PENDING: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'The release no longer takes approvals (quorum reached, released, refused or failed).' },
  RELEASE_APPROVER_NOT_IN_JOB: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, summary: "Only a steward of a site that takes part in the job approves for that site." },
  RELEASE_APPROVAL_SIGNATURE_REQUIRED: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: "A site steward's approval carries no signature: it must send `approval`, a JWS signed with its site's steward key (medfed agent approve-release)." },
  RELEASE_APPROVAL_SIGNATURE_UNEXPECTED: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: "A compliance approval carries no steward signature (`approval` is for a site steward's approval only)." },
  RELEASE_SELF_APPROVAL: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, summary: 'The requester of a release cannot give its compliance approval.' },
  RELEASE_STEP_UNEXPECTED: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'The release does not wait for this step from this site.' },
  RELEASE_STATEMENT_INVALID: { http: 422, grpc: GrpcStatus.INVALID_ARGUMENT, summary: "The site's release statement is malformed or names another release, job, round, input or digest." },
  RELEASE_STATEMENT_SIGNATURE_INVALID: { http: 422, grpc: GrpcStatus.UNAUTHENTICATED, summary: "The release statement is not signed by the site's registered attestation key." },
  RELEASE_BLOB_MISMATCH: { http: 400, grpc: GrpcStatus.DATA_LOSS, summary: 'The uploaded plaintext does not match the size or SHA-256 its statement announces.' },
  RELEASE_PLAINTEXT_INVALID: { http: 422, grpc: GrpcStatus.INVALID_ARGUMENT, summary: "The uploaded plaintext is not a float32 vector of the job's model size with finite values." },
  RELEASE_HASH_MISMATCH: { http: 409, grpc: GrpcStatus.ABORTED, summary: 'The second site reproduced a different plaintext digest: the release is refused.' },
  RELEASE_NOT_CANCELLABLE: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'The release has ended (released, refused, failed or cancelled); it cannot be cancelled.' },
  RELEASE_CANCEL_FORBIDDEN: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, summary: 'Only the requester of a release or an admin cancels it.' },
  RELEASE_STEP_TIMEOUT: { http: 409, grpc: GrpcStatus.DEADLINE_EXCEEDED, summary: 'Every eligible key-holding site missed the deadline of a release step: the release failed.' },
  RELEASE_NOT_RELEASED: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'The release has not (or not yet) produced a released model.' },
} as const satisfies ErrorTable;

export type ReleaseErrorCode = keyof typeof RELEASE_ERRORS;

export class ReleaseError extends MedfedError<ReleaseErrorCode> {}
