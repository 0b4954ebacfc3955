import { GovernanceError } from './errors.js';
import { canonicalSha256, type ExpectedApproval, type SignerRole, type StewardApprovalClaims } from './steward-approval.js';

/**
 * The statement a steward (or roster auditor) signs to approve a purge of audit entries inside the
 * retention period, and that the coordinator checks the approvals against (docs/governance.md):
 *
 *   inputSha256 = SHA-256( RFC 8785 JSON of {"before": B, "consortium": C, "type": "medfed.audit-purge/v1"} )
 *
 * where B is the cut-off as `Date#toISOString` spells it (UTC, milliseconds: `2019-01-01T00:00:00.000Z`).
 * Signer and coordinator both bring the cut-off into that one spelling, so `2019-01-01` and
 * `2019-01-01T00:00:00Z` name the same purge. Claims: step `audit-purge`, job, release and round null.
 */
export const AUDIT_PURGE_REQUEST_TYPE = 'medfed.audit-purge/v1';

export interface AuditPurgeRequest {
  readonly type: typeof AUDIT_PURGE_REQUEST_TYPE;
  readonly consortium: string;
  readonly before: string;
}

/** The cut-off in its one spelling; refuses anything that is not a valid instant. */
export function purgeCutoff(before: string | Date): string {
  const ms = before instanceof Date ? before.getTime() : typeof before === 'string' ? Date.parse(before) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new GovernanceError('STEWARD_APPROVAL_INVALID', `the purge cut-off ${JSON.stringify(String(before))} is not an instant (ISO 8601, e.g. 2019-01-01T00:00:00Z)`);
  }
  return new Date(ms).toISOString();
}

export function auditPurgeRequest(consortium: string, before: string | Date): AuditPurgeRequest {
  return { type: AUDIT_PURGE_REQUEST_TYPE, consortium, before: purgeCutoff(before) };
}

/** The `inputSha256` of every approval of this purge. */
export function auditPurgeInputSha256(consortium: string, before: string | Date): string {
  return canonicalSha256(auditPurgeRequest(consortium, before));
}

/** What the coordinator expects of each approval of this purge. */
export function expectedAuditPurge(consortium: string, before: string | Date): ExpectedApproval {
  return { consortium, step: 'audit-purge', inputSha256: auditPurgeInputSha256(consortium, before), job: null, release: null, round: null };
}

/** The claims a signer signs to approve this purge (see signStewardApproval). */
export function auditPurgeClaims(request: { consortium: string; before: string | Date }, signer: { role: SignerRole; id: string }, expiresAt: number): StewardApprovalClaims {
  return {
    consortium: request.consortium, job: null, release: null, round: null, step: 'audit-purge',
    inputSha256: auditPurgeInputSha256(request.consortium, request.before), expiresAt, signerRole: signer.role, signer: signer.id,
  };
}
