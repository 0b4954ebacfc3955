import { GrpcStatus, MedfedError, type ErrorTable } from '../errors/medfed-error.js';

/**
 * Audit format and verification errors. The `AUDIT_*` verification codes double as the `code` of a
 * verification problem, so a report, an exception and a test all name the same failure.
 */
export const AUDIT_ERRORS = {
  AUDIT_EVENT_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'An audit event field is missing or malformed' },
  AUDIT_ACTION_UNKNOWN: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'The audit action is not in the action table' },
  AUDIT_DETAIL_NOT_ALLOWED: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'A detail key is not allowed for this audit action' },
  AUDIT_DETAIL_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'A detail value does not match its schema' },
  AUDIT_CANONICALIZATION_FAILED: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'The value cannot be written as RFC 8785 canonical JSON' },
  AUDIT_ENTRY_MALFORMED: { http: 422, grpc: GrpcStatus.DATA_LOSS, summary: 'An audit entry is not parseable or lacks a chain field' },
  AUDIT_ENTRY_NOT_CANONICAL: { http: 422, grpc: GrpcStatus.DATA_LOSS, summary: 'An audit entry line is not its RFC 8785 canonical form' },
  AUDIT_SEQ_MISSING: { http: 422, grpc: GrpcStatus.DATA_LOSS, summary: 'A sequence number is missing from the audit chain' },
  AUDIT_SEQ_OUT_OF_ORDER: { http: 422, grpc: GrpcStatus.DATA_LOSS, summary: 'A sequence number repeats or goes backwards' },
  AUDIT_CHAIN_BROKEN: { http: 422, grpc: GrpcStatus.DATA_LOSS, summary: "An entry's prev_hash is not the hash of the entry before it" },
  AUDIT_HASH_MISMATCH: { http: 422, grpc: GrpcStatus.DATA_LOSS, summary: "An entry's hash does not match its content" },
  AUDIT_CHAIN_START_MISMATCH: { http: 422, grpc: GrpcStatus.DATA_LOSS, summary: 'The chain does not start where the genesis, truncation anchor or manifest says' },
  AUDIT_CHAIN_END_MISMATCH: { http: 422, grpc: GrpcStatus.DATA_LOSS, summary: 'The chain does not end where the signed head says (truncated or extended)' },
  AUDIT_ANCHOR_MISMATCH: { http: 422, grpc: GrpcStatus.DATA_LOSS, summary: 'An anchored chain head does not match the entry at its sequence number' },
  AUDIT_BUNDLE_INVALID: { http: 422, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'The audit bundle is not a well-formed medfed bundle' },
  AUDIT_BUNDLE_FILE_MISMATCH: { http: 422, grpc: GrpcStatus.DATA_LOSS, summary: 'A bundle file does not match its manifest digest' },
  AUDIT_SIGNATURE_INVALID: { http: 422, grpc: GrpcStatus.UNAUTHENTICATED, summary: 'A bundle signature does not verify against the JWKS' },
  AUDIT_TRUNCATION_INVALID: { http: 422, grpc: GrpcStatus.DATA_LOSS, summary: 'A truncation anchor is unsigned, badly signed or does not match the chain' },
  AUDIT_TLOG_INVALID: { http: 422, grpc: GrpcStatus.DATA_LOSS, summary: 'The transparency log checkpoints or proofs do not verify' },
  AUDIT_TLOG_TAIL_MISSING: { http: 422, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'Under a pinned log key the bundle lacks its log tail (an older bundle, or a tail over the cap), so completeness cannot be checked' },
  AUDIT_TLOG_TAIL_INVALID: { http: 422, grpc: GrpcStatus.DATA_LOSS, summary: "The bundle's log tail is malformed or is not the log's leaves up to the pinned checkpoint" },
  AUDIT_BUNDLE_TRUNCATED: { http: 422, grpc: GrpcStatus.DATA_LOSS, summary: 'Entries anchored in the transparency log are missing from the end of the bundle' },
} as const satisfies ErrorTable;

export type AuditErrorCode = keyof typeof AUDIT_ERRORS;

export class AuditError extends MedfedError<AuditErrorCode> {}
