import { GrpcStatus, MedfedError, type ErrorTable } from '../errors/medfed-error.js';

/** Refusals of the offline model bundle and of the bytes about to be loaded. */
export const BUNDLE_ERRORS = {
  ARTIFACT_DIGEST_MISMATCH: {
    http: 422,
    grpc: GrpcStatus.DATA_LOSS,
    summary: 'The bytes about to be loaded are not the bytes the manifest names (SHA-256 or size differ).',
  },
  ARTIFACT_BLOB_UNKNOWN: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The manifest does not name the blob being loaded, or names several and none was chosen.',
  },
  BUNDLE_FILE_MISSING: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'A required bundle file is missing or is not a regular file.',
  },
  BUNDLE_FILE_TOO_LARGE: {
    http: 413,
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    summary: 'A bundle file is larger than its format allows.',
  },
  BUNDLE_MALFORMED: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'A bundle file is not in its format (UTF-8 text, JSON).',
  },
  BUNDLE_EXISTS: {
    http: 409,
    grpc: GrpcStatus.ALREADY_EXISTS,
    summary: 'The target directory already holds bundle files; nothing was overwritten.',
  },
} as const satisfies ErrorTable;

export type BundleErrorCode = keyof typeof BUNDLE_ERRORS;

export class BundleError extends MedfedError<BundleErrorCode> {}
