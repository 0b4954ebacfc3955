import { GrpcStatus, MedfedError, type ErrorTable } from '../errors/medfed-error.js';

/** Homomorphic aggregation and key custody refusals. Tests and callers branch on these codes. */
export const HE_ERRORS = {
  HE_UNKNOWN_PARAM_SET: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'The HE parameter set id is not in the parameter table.' },
  HE_PARAMS_MISMATCH: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, summary: "The ciphertext was made under other HE parameters than the job's." },
  HE_KEY_MISMATCH: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, summary: "The ciphertext or key belongs to another key set than the job's." },
  HE_CIPHERTEXT_MALFORMED: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'The ciphertext bytes are truncated, garbled or not an honest fresh ciphertext.' },
  HE_SHAPE_MISMATCH: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'The encrypted vector does not have the length, chunking or encoding the aggregate expects.' },
  HE_VALUE_OUT_OF_RANGE: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'A value to encrypt is outside the announced range (or not finite).' },
  HE_QUANTISATION_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'clip, fracBits, maxSites, maxAbs or weight cannot be carried without overflow by this parameter set.' },
  HE_DUPLICATE_CHUNK: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS, summary: 'This contributor already added this chunk index.' },
  HE_TOO_MANY_SUMMANDS: { http: 409, grpc: GrpcStatus.RESOURCE_EXHAUSTED, summary: 'Adding another contributor would exceed maxSites or the noise bound of the parameter set.' },
  HE_AGGREGATE_INCOMPLETE: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'Some contributor has not added every chunk, so the sum is not one consistent aggregate.' },
  HE_TOO_FEW_CONTRIBUTORS: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'The aggregate has fewer contributors than the minimum that may be decrypted.' },
  HE_DECRYPTION_CHECK_FAILED: { http: 422, grpc: GrpcStatus.DATA_LOSS, summary: 'The decrypted check slots do not match: wrong key, tampered sum or a false contributor list.' },
  HE_AGGREGATE_INCONSISTENT: { http: 422, grpc: GrpcStatus.DATA_LOSS, summary: 'The decrypted sum of weights disagrees with the announced total weight.' },
  HE_STATE_MALFORMED: { http: 500, grpc: GrpcStatus.DATA_LOSS, summary: 'A persisted accumulator state or encrypted sum cannot be read.' },
  HE_SECRET_KEY_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'The HE secret key bytes do not load under this parameter set.' },
  HE_DISPOSED: { http: 500, grpc: GrpcStatus.INTERNAL, summary: 'An HE object was used after dispose().' },
  HE_TOO_FEW_SITES: { http: 400, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'Encrypted aggregation needs at least 3 sites on the signed site list.' },
  HE_SITE_LIST_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'The site list statement is malformed (fields, duplicate sites or signatures).' },
  HE_SITE_LIST_UNSIGNED: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, summary: "A listed site's steward has not signed the site list." },
  HE_SITE_LIST_SIGNATURE_INVALID: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, summary: 'A site list signature does not verify over the statement.' },
  HE_SITE_UNPINNED: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, summary: 'A site or key does not match the fingerprints pinned at enrollment.' },
  HE_KEY_AGREEMENT_KEY_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: "A site's key-agreement key is missing, not X25519 public, or not the listed one." },
  HE_KEY_UNWRAP_FAILED: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, summary: 'The wrapped HE key does not decrypt with this site key or its content is not the announced key.' },
  HE_KEY_CONTEXT_MISMATCH: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'The job, epoch, site or parameter digest bound to a custody artefact is not the expected one.' },
  HE_KEY_FILE_PERMISSIONS: { http: 500, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'The HE key file is not a private regular file of this user (mode must be 0600).' },
  HE_KEY_FILE_MALFORMED: { http: 500, grpc: GrpcStatus.DATA_LOSS, summary: 'The HE key file cannot be parsed or its key does not match its key id.' },
} as const satisfies ErrorTable;

export type HeErrorCode = keyof typeof HE_ERRORS;

export class HeError extends MedfedError<HeErrorCode> {}
