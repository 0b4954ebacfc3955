import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';

/** Errors of the coordinator's audit store, writer, anchorer, purge and export. */
export const AUDIT_STORE_ERRORS = {
  AUDIT_WRITE_FAILED: { http: 503, grpc: GrpcStatus.UNAVAILABLE, summary: 'The audit trail could not be written, so the action was refused (fail closed)' },
  AUDIT_WRITER_CLOSED: { http: 503, grpc: GrpcStatus.UNAVAILABLE, summary: 'The audit writer is shut down; no action can be recorded' },
  AUDIT_STORE_CORRUPT: { http: 500, grpc: GrpcStatus.DATA_LOSS, summary: 'The audit store holds a row that is not a valid entry' },
  AUDIT_PURGE_FORBIDDEN: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, summary: 'Purging audit entries needs the explicit audit-retention role' },
  AUDIT_PURGE_RETENTION: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'The purge would remove entries younger than the retention period' },
  AUDIT_EXPORT_FILTER_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'An audit export filter (from, to, job, site) is malformed' },
  AUDIT_EXPORT_FAILED: { http: 500, grpc: GrpcStatus.INTERNAL, summary: 'The audit bundle could not be written' },
  AUDIT_ANCHOR_FAILED: { http: 503, grpc: GrpcStatus.UNAVAILABLE, summary: 'The chain head could not be anchored in the transparency log' },
} as const satisfies ErrorTable;

export type AuditStoreErrorCode = keyof typeof AUDIT_STORE_ERRORS;

export class AuditStoreError extends MedfedError<AuditStoreErrorCode> {}
