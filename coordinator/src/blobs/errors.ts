import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';

/** Failures of payload storage (FileBlobStore, PgBlobStore): none is the caller's fault. */
export const BLOB_ERRORS = {
  STORAGE_FULL: { http: 507, grpc: GrpcStatus.RESOURCE_EXHAUSTED, summary: "The coordinator's payload storage is full; nothing was stored, and the request may be retried later." },
  BLOB_NOT_FOUND: { http: 500, grpc: GrpcStatus.DATA_LOSS, summary: 'A payload the coordinator has on record is missing from its payload storage.' },
  BLOB_DIGEST_MISMATCH: { http: 500, grpc: GrpcStatus.DATA_LOSS, summary: 'Stored payload bytes no longer match their recorded SHA-256 (storage corruption).' },
  BLOB_STORE_UNAVAILABLE: { http: 503, grpc: GrpcStatus.UNAVAILABLE, summary: 'The database holding payloads cannot be reached right now; retry later.' },
} as const satisfies ErrorTable;

export type BlobErrorCode = keyof typeof BLOB_ERRORS;

export class BlobStoreError extends MedfedError<BlobErrorCode> {}
