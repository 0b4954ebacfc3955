export { GOVERNANCE_ERRORS, GovernanceError, type GovernanceErrorCode } from './errors.js';
export {
  STEWARD_APPROVAL_TYP, STEWARD_APPROVAL_MAX_BYTES, STEWARD_APPROVAL_MAX_LIFETIME_S, APPROVAL_STEPS,
  validateStewardApprovalClaims, canonicalSha256, ed25519Thumbprint, signStewardApproval, peekStewardApproval,
  verifyStewardApproval, tallyApprovals, requireQuorum, majorityOf,
  type ApprovalStep, type SignerRole, type StewardApprovalClaims, type Ed25519PublicJwk, type PinnedKeyLookup,
  type ExpectedApproval, type QuorumRule, type QuorumResult,
} from './steward-approval.js';
