export { APPROVAL_ERRORS, ApprovalError, type ApprovalErrorCode } from './errors.js';
export { jobSpecDigest, SPEC_DIGEST } from './spec-digest.js';
export { ApprovalStore, APPROVALS_FILE, checkApproval, type JobApproval, type JobAnnouncement } from './approval-store.js';
export { requireJobApproval, DEVELOPMENT_ETHICS_REF, type ApprovalCheck } from './check-job.js';
