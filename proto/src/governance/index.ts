export { GOVERNANCE_ERRORS, GovernanceError, type GovernanceErrorCode } from './errors.js';
export {
  STEWARD_APPROVAL_TYP, STEWARD_APPROVAL_MAX_BYTES, STEWARD_APPROVAL_MAX_LIFETIME_S, APPROVAL_STEPS,
  validateStewardApprovalClaims, canonicalSha256, ed25519Thumbprint, signStewardApproval, peekStewardApproval,
  verifyStewardApproval, tallyApprovals, requireQuorum, majorityOf,
  type ApprovalStep, type SignerRole, type StewardApprovalClaims, type Ed25519PublicJwk, type PinnedKeyLookup,
  type ExpectedApproval, type QuorumRule, type QuorumResult,
} from './steward-approval.js';
export {
  ROSTER_TYP, ROSTER_CONSORTIUM, ROSTER_AUDITOR_ID, ROSTER_MAX_RETENTION_DAYS, checkRosterSitePin, rosterEd25519Public, rosterStewardKey,
  checkRosterAuditorKey, parseRoster, rosterBytes, rosterDigest, rosterSignerOf, rosterSignatures, verifyRoster, readRoster,
  type Roster, type RosterSite, type RosterSitePin, type RosterAuditor, type RosterRules,
} from './roster.js';
export { rosterDecision, type RosterDecision } from './roster-rule.js';
export {
  AUDIT_PURGE_REQUEST_TYPE, purgeCutoff, auditPurgeRequest, auditPurgeInputSha256, expectedAuditPurge, auditPurgeClaims,
  type AuditPurgeRequest,
} from './purge-request.js';
export {
  GovernedEventsVerifier, verifyGovernedEvents, type CheckedPurge, type CheckedRosterChange, type GovernedEventsReport,
} from './verify-purges.js';
