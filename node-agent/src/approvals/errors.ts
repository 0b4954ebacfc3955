import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';

/** Refusals of the site's job approvals: a site works only for jobs its steward approved. */
export const APPROVAL_ERRORS = {
  JOB_NOT_APPROVED: {
    http: 403,
    grpc: GrpcStatus.PERMISSION_DENIED,
    summary: "The site's steward has not approved this job (medfed agent approve --job J --ethics-ref REF); the site refuses its tasks.",
  },
  JOB_APPROVAL_SPEC_CHANGED: {
    http: 403,
    grpc: GrpcStatus.PERMISSION_DENIED,
    summary: 'The job specification the coordinator announces differs from the one the steward approved (its digest changed); a new approval is needed.',
  },
  JOB_SPEC_MISSING: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'A task carries no job specification, so there is nothing an approval could be matched against.',
  },
  APPROVAL_INVALID: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'An approval lacks its job id, spec digest (64 hex) or ethics/data-use reference, or names them in a form the agent does not accept.',
  },
  APPROVAL_SPEC_UNKNOWN: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: "The agent has not received this job's specification yet and no --spec-digest was given; start the agent so the job is announced, or give the digest.",
  },
  APPROVAL_SPEC_MISMATCH: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The --spec-digest the steward gave is not the digest of the specification the coordinator announced.',
  },
  APPROVAL_STATE_INVALID: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: "The agent's approvals file is unreadable, not valid, or readable by others (must be mode 0600).",
  },
  APPROVAL_AUTO_IN_PRODUCTION: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'approvals.autoApproveInDevelopment is set in production; a production steward approves each job.',
  },
} as const satisfies ErrorTable;

export type ApprovalErrorCode = keyof typeof APPROVAL_ERRORS;

export class ApprovalError extends MedfedError<ApprovalErrorCode> {}
