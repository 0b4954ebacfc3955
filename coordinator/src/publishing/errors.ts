import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';

/** Errors of signed model distribution: manifests, log evidence, witness cosignatures, exports. */
export const PUBLISHING_ERRORS = {
  PUBLISH_MANIFEST_MISSING: { http: 404, grpc: GrpcStatus.NOT_FOUND, summary: 'The artifact has no signed manifest, so it is not distributed' },
  PUBLISH_ARTIFACT_UNKNOWN: { http: 404, grpc: GrpcStatus.NOT_FOUND, summary: 'No artifact of that job, round and kind exists' },
  PUBLISH_QUERY_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'A log or export query parameter is missing or malformed' },
  PUBLISH_WITNESS_KEY_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'The witness verifier key sent at enrollment is not a cosignature (type 0x04) vkey' },
  PUBLISH_WITNESS_UNKNOWN: { http: 412, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'The site registered no witness key; enroll again with one' },
  PUBLISH_COSIGNATURE_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: "The cosigned checkpoint carries no valid cosignature by the site's witness key" },
  PUBLISH_KEY_INVALID: { http: 500, grpc: GrpcStatus.INTERNAL, summary: "A publishing key file in the coordinator's data directory is unreadable or exposed" },
} as const satisfies ErrorTable;

export type PublishingErrorCode = keyof typeof PUBLISHING_ERRORS;

export class PublishingError extends MedfedError<PublishingErrorCode> {}
