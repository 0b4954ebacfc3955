import { ApprovalError } from './errors.js';
import type { ApprovalStore, JobApproval } from './approval-store.js';
import { jobSpecDigest } from './spec-digest.js';

export interface ApprovalCheck {
  readonly jobId: string;
  /** The task's job spec JSON, as the coordinator sent it. */
  readonly jobSpecJson: string;
  /** Development harnesses only: approve on first sight, labelled as such. */
  readonly autoApprove: boolean;
  readonly now?: () => Date;
}

/** What a development harness records in place of an ethics reference: there is none. */
export const DEVELOPMENT_ETHICS_REF = 'development-auto-approval';

/**
 * Gate before any task runs: the job must be approved by this site's steward for the exact spec
 * the coordinator announces now. Unapproved or changed specs are remembered for the steward's
 * review and refused; the refusal carries the digest, never the spec.
 */
export async function requireJobApproval(store: ApprovalStore, check: ApprovalCheck): Promise<{ approval: JobApproval; granted: boolean }> {
  const specDigest = jobSpecDigest(check.jobSpecJson, check.jobId);
  const now = (check.now ?? (() => new Date()))();
  const approval = await store.find(check.jobId);
  if (approval?.specDigest === specDigest) return { approval, granted: false };
  if (check.autoApprove) {
    const granted = await store.approve({
      jobId: check.jobId, specDigest, ethicsRef: DEVELOPMENT_ETHICS_REF, approvedAt: now.toISOString(), approver: 'development', mode: 'development',
    });
    return { approval: granted, granted: true };
  }
  await store.announce({ jobId: check.jobId, specDigest, spec: JSON.parse(check.jobSpecJson) as unknown, announcedAt: now.toISOString() });
  if (approval !== undefined) {
    throw new ApprovalError(
      'JOB_APPROVAL_SPEC_CHANGED',
      `job ${check.jobId}: the steward approved spec ${approval.specDigest.slice(0, 12)}, the coordinator now announces ${specDigest.slice(0, 12)}; ` +
        `review it and approve again (medfed agent approve --job ${check.jobId} --ethics-ref REF)`,
      { job: check.jobId, approvedDigest: approval.specDigest, announcedDigest: specDigest },
    );
  }
  throw new ApprovalError(
    'JOB_NOT_APPROVED',
    `job ${check.jobId} (spec ${specDigest.slice(0, 12)}) is not approved by this site's steward; ` +
      `approve it with medfed agent approve --job ${check.jobId} --ethics-ref REF`,
    { job: check.jobId, announcedDigest: specDigest },
  );
}
