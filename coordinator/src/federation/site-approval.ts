import type { AuditEventInput } from '@medfed/proto/audit/index';
import { FederationError } from './errors.js';

/** A site's report of its steward's decision on a job (gRPC ReportJobApproval). */
export interface SiteApprovalReport {
  readonly siteId: string;
  readonly jobId: string;
  readonly approved: boolean;
  readonly specDigest: string;
  readonly ethicsRef: string;
  readonly refusalCode: string;
  readonly mode: string;
}

const SHA256 = /^[0-9a-f]{64}$/;
const REF = /^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}$/;
const REFUSALS = new Set(['JOB_NOT_APPROVED', 'JOB_APPROVAL_SPEC_CHANGED']);

/**
 * The audit event of a site approval or refusal. The coordinator cannot approve for a site: it only
 * records what the site reports, with the spec digest the site approved or refused.
 */
export function siteApprovalEvent(report: SiteApprovalReport): AuditEventInput {
  if (!SHA256.test(report.specDigest)) throw new FederationError('VALIDATION_FAILED', 'spec_digest must be 64 lowercase hex characters');
  const base = { actor: report.siteId, role: 'node', site: report.siteId, action: 'job.site-approval', resource: `job:${report.jobId}` } as const;
  if (report.approved) {
    if (!REF.test(report.ethicsRef)) throw new FederationError('VALIDATION_FAILED', 'ethics_ref must be an identifier (letters, digits and ._:@/+-, at most 128)');
    if (report.mode !== 'steward' && report.mode !== 'development') throw new FederationError('VALIDATION_FAILED', 'mode must be "steward" or "development"');
    return { ...base, outcome: 'success', rule: `site-approval:${report.mode}`, details: { job: report.jobId, sha256: report.specDigest, ethics_ref: report.ethicsRef } };
  }
  if (!REFUSALS.has(report.refusalCode)) throw new FederationError('VALIDATION_FAILED', `refusal_code must be one of ${[...REFUSALS].join(', ')}`);
  return { ...base, outcome: 'denied', rule: 'site-approval:required', details: { job: report.jobId, sha256: report.specDigest, reason: report.refusalCode } };
}
