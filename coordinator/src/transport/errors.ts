import { HE_ERRORS, MedfedError, STRATEGY_ERRORS, type ErrorSpec } from '@medfed/proto';
import { AUTH_ERRORS } from '@medfed/proto/auth/index';
import { GOVERNANCE_ERRORS } from '@medfed/proto/governance/index';
import { ATTESTATION_POLICY_ERRORS } from '../attestation/errors.js';
import { PUBLISHING_ERRORS } from '../publishing/errors.js';
import { FEDERATION_ERRORS } from '../federation/errors.js';
import { ROUND_STATE_ERRORS } from '../federation/round-state.js';
import { RELEASE_ERRORS } from '../releases/errors.js';
import { AUDIT_STORE_ERRORS } from '../audit/errors.js';
import { classifyDatabaseError, STORAGE_ERRORS } from '../storage/errors.js';
import { BLOB_ERRORS } from '../blobs/errors.js';

/**
 * The coordinator's one error table: every code it can answer with, its HTTP and gRPC status and
 * public summary. Areas contribute their tables here; docs/errors.md is checked against it.
 */
export const ERROR_TABLE: Readonly<Record<string, ErrorSpec>> = {
  ...FEDERATION_ERRORS,
  ...ROUND_STATE_ERRORS,
  ...HE_ERRORS,
  ...STRATEGY_ERRORS,
  ...AUTH_ERRORS,
  ...GOVERNANCE_ERRORS,
  ...ATTESTATION_POLICY_ERRORS,
  ...PUBLISHING_ERRORS,
  ...RELEASE_ERRORS,
  ...AUDIT_STORE_ERRORS,
  ...STORAGE_ERRORS,
  ...BLOB_ERRORS,
  NOT_FOUND: { http: 404, grpc: 5, summary: 'No such route.' },
  UNAUTHENTICATED: { http: 401, grpc: 16, summary: 'A valid credential is required.' },
  PAYLOAD_TOO_LARGE: { http: 413, grpc: 8, summary: 'The request body exceeds the size limit.' },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, grpc: 3, summary: 'The request body must be JSON.' },
  RATE_LIMITED: { http: 429, grpc: 8, summary: 'Too many requests.' },
};

export interface PublicError {
  code: string;
  message: string;
  http: number;
  grpc: number;
}

/** Maps anything thrown to a public error; unknown failures never leak their internals. */
export function toPublicError(err: unknown): PublicError {
  // A database failure that reached a handler unclassified is still retryable, never a bare INTERNAL.
  err = classifyDatabaseError(err);
  if (err instanceof MedfedError) {
    const spec = ERROR_TABLE[err.code];
    if (spec) return { code: err.code, message: err.message, http: spec.http, grpc: spec.grpc };
    return { code: err.code, message: err.message, http: 400, grpc: 3 };
  }
  return { code: 'INTERNAL', message: 'internal error', http: 500, grpc: 13 };
}
