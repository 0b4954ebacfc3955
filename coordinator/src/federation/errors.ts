import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';

/** Refusals of the federation core (jobs, rounds, submissions). One row per stable code. */
export const FEDERATION_ERRORS = {
  VALIDATION_FAILED: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'The request does not match its schema.' },
  JOB_SPEC_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'The job specification is inconsistent.' },
  JOB_OWNER_NOT_SETTABLE: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: "A job's owner is the principal that creates it; the request may not name another." },
  UNKNOWN_SITE: { http: 404, grpc: GrpcStatus.NOT_FOUND, summary: 'No site with this id is registered.' },
  SITE_EXISTS: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS, summary: 'A site with this id is already registered.' },
  SITE_SUSPENDED: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, summary: 'The site is suspended.' },
  SITE_REVOKED: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, summary: 'The site was revoked for good.' },
  PROTOCOL_VERSION_UNSUPPORTED: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, summary: "The agent's protocol version is not served by this coordinator, or the agent announces none: upgrade the agent (or, for a newer major, the coordinator)." },
  UNKNOWN_JOB: { http: 404, grpc: GrpcStatus.NOT_FOUND, summary: 'No job with this id exists.' },
  UNKNOWN_MODEL: { http: 404, grpc: GrpcStatus.NOT_FOUND, summary: 'No model with this id exists for the job.' },
  SITE_NOT_IN_JOB: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, summary: 'The site does not take part in this job.' },
  JOB_NOT_RUNNING: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'The job is not running.' },
  ROUND_CLOSED: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'The round no longer accepts submissions.' },
  ROUND_MISMATCH: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'The submission is for another round or task.' },
  DUPLICATE_SUBMISSION: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS, summary: 'The site already submitted for this round.' },
  UPDATE_HEADER_MISSING: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'An update stream must start with its header.' },
  UPDATE_INCOMPLETE: { http: 400, grpc: GrpcStatus.CANCELLED, summary: 'The update stream ended before all bytes arrived.' },
  UPDATE_SIZE_MISMATCH: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'The update has a different size than announced.' },
  UPDATE_DIGEST_MISMATCH: { http: 400, grpc: GrpcStatus.DATA_LOSS, summary: 'The update bytes do not match the announced SHA-256.' },
  UPDATE_TOO_LARGE: { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED, summary: 'The update is larger than the round allows.' },
  UPDATE_TOO_STALE: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, summary: "A late update of a semi-asynchronous job was trained from a model more rounds old than the job's maxStaleness allows; the site drops it." },
  UPDATE_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'The update content is not a valid vector for this round.' },
  TRAINER_REFUSED: { http: 422, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'The supply-chain gate stopped the trainer build.' },
  KEY_EPOCH_CHANGE_REFUSED: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, summary: "The job's site list or key epoch cannot change now (statistics round, aggregation in progress, or the change leaves the job unable to run)." },
  KEY_EPOCH_NOT_HELD: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, summary: 'The site holds no key of this key epoch (it was not on that epoch\'s site list, or left before it).' },
  STATS_PUBLISH_TIMEOUT: { http: 504, grpc: GrpcStatus.DEADLINE_EXCEEDED, summary: 'Every site that answered a statistics query let its publish deadline pass; the query failed.' },
  METRICS_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'The metrics report is invalid for this round.' },
  METRICS_CONFLICT: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS, summary: 'The site already reported different metrics for this round and phase (the same report again is acknowledged).' },
  CONTRIBUTION_CORRUPTED: { http: 500, grpc: GrpcStatus.DATA_LOSS, summary: "A stored contribution no longer matches its digest: it was excluded, and the round failed because too few intact contributions remained." },
  AGGREGATION_FAILED: { http: 500, grpc: GrpcStatus.INTERNAL, summary: 'The round could not be aggregated within its bound and failed.' },
  INTERNAL: { http: 500, grpc: GrpcStatus.INTERNAL, summary: 'An internal error occurred.' },
} as const satisfies ErrorTable;

export type FederationErrorCode = keyof typeof FEDERATION_ERRORS;

export class FederationError extends MedfedError<FederationErrorCode> {}
