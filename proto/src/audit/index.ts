export { AUDIT_ERRORS, AuditError, type AuditErrorCode } from './errors.js';
export { AUDIT_ACTIONS, isAuditAction, auditActionSpec, type AuditAction, type AuditActionSpec, type AuditCategory } from './actions.js';
export { AUDIT_DETAIL_FIELDS, validateDetails, type AuditDetailKey } from './details.js';
export {
  AUDIT_EVENT_VERSION, AUDIT_OUTCOMES,
  type AuditOutcome, type AuditDetails, type AuditDetailValue, type AuditEventInput, type AuditEvent, type AuditEntry, type HashOnlyEntry, type AuditHead,
} from './event.js';
export { toAuditEvent, auditTime } from './validate-event.js';
export { canonicalJson, canonicalBytes } from './jcs.js';
export { spliceEntryText, eventTextOfEntry, detailsTextOfEvent } from './entry-text.js';
export { GENESIS_PREV_HASH, chainHash, chainHashOfCanonical, eventOf, linkEntry, isHash } from './hash.js';
export { AUDIT_ANCHOR_TYPE, anchorLeafBytes, type AnchorRecord, type TlogEvidenceVerifier } from './anchor.js';
export { AUDIT_TRUNCATION_TYPE, truncationPayload, parseTruncationPayload, type TruncationAnchor } from './truncation.js';
export { eventJob, matchesFilter, type AuditFilter } from './scope.js';
export * from './verify/index.js';
export * from './bundle/index.js';
export * from './report/index.js';
