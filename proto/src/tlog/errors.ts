import { GrpcStatus, MedfedError, type ErrorTable } from '../errors/medfed-error.js';

/**
 * Refusals of the transparency log: Merkle proofs, signed notes, checkpoints, witness cosignatures.
 * A site that meets any of these does not load the artifact it was about to load.
 */
export const TLOG_ERRORS = {
  TLOG_INCLUSION_INVALID: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The inclusion proof does not lead from the leaf to the checkpoint root.',
  },
  TLOG_CONSISTENCY_INVALID: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The consistency proof does not show the newer tree extending the older one (split view or rewritten history).',
  },
  TLOG_ROLLBACK: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The checkpoint is smaller than one already seen: the log was rolled back or is showing a stale view.',
  },
  TLOG_PROOF_MALFORMED: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'A proof is not well formed (sizes, indices or hash lengths).',
  },
  TLOG_INDEX_OUT_OF_RANGE: {
    http: 404,
    grpc: GrpcStatus.OUT_OF_RANGE,
    summary: 'The requested leaf index or tree size lies beyond the current log.',
  },
  TLOG_NODE_MISSING: {
    http: 500,
    grpc: GrpcStatus.DATA_LOSS,
    summary: 'A stored Merkle node the proof needs is missing: the log storage is damaged.',
  },
  TLOG_STORE_CONFLICT: {
    http: 409,
    grpc: GrpcStatus.ABORTED,
    summary: 'The log head moved during an append; the append was not applied.',
  },
  NOTE_MALFORMED: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The text is not a signed note (c2sp.org/signed-note).',
  },
  NOTE_KEY_INVALID: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'A signed-note key is not of the form <name>+<hex key id>+<base64 key> or its key id does not match.',
  },
  CHECKPOINT_MALFORMED: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The checkpoint body is not origin, decimal tree size and base64 root hash (c2sp.org/tlog-checkpoint).',
  },
  CHECKPOINT_SIGNATURE_INVALID: {
    http: 422,
    grpc: GrpcStatus.UNAUTHENTICATED,
    summary: 'The checkpoint carries no valid signature by the trusted log key.',
  },
  CHECKPOINT_ORIGIN_MISMATCH: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The checkpoint names a different log origin than the one trusted.',
  },
  COSIGNATURES_INSUFFICIENT: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'Fewer trusted witnesses cosigned the checkpoint than the policy requires.',
  },
  WITNESS_UNKNOWN_LOG: {
    http: 404,
    grpc: GrpcStatus.NOT_FOUND,
    summary: 'The witness does not follow the log named by the checkpoint origin.',
  },
} as const satisfies ErrorTable;

export type TlogErrorCode = keyof typeof TLOG_ERRORS;

export class TlogError extends MedfedError<TlogErrorCode> {}
