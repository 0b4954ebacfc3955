import type { JobSpec } from '@medfed/proto';
import { majorityOf, requireQuorum, type QuorumResult } from '@medfed/proto/governance/index';

/** What this site trusts a release's approvals by: its consortium's name and the steward keys it pinned. */
export interface ReleaseApprovalTrust {
  /** consortiumOf(config): the name the stewards' approvals must carry. */
  readonly consortium: string;
  /** Site id to the RFC 7638 thumbprint of its steward key, as pinned here (this site's own from its own keys). */
  readonly stewardKeys: ReadonlyMap<string, { readonly stewardKeyThumbprint: string }>;
}

/** The release a task asks this site to decrypt or countersign. */
export interface ReleaseToApprove {
  readonly job: string;
  readonly release: string;
  readonly round: number;
  readonly inputSha256: string;
  readonly approvals: readonly unknown[];
}

/** The sites whose stewards decide a job's release: its trainers and evaluators, each once, sorted. */
export function releaseDeciders(spec: Pick<JobSpec, 'sites' | 'evaluators'>): string[] {
  return [...new Set([...spec.sites, ...(spec.evaluators ?? [])])].sort();
}

/**
 * This site's own check that a release was approved by the hospitals, before it decrypts or
 * countersigns anything: a majority of the job's sites (from the spec this site's steward approved,
 * not from anything the coordinator says about the quorum) must each have signed this exact release
 * (consortium, job, release id, round, input digest) with the steward key this site pinned for it,
 * and be unexpired. Throws APPROVAL_QUORUM_NOT_MET otherwise; the message names who signed, who is
 * missing and why any approval was not counted.
 */
export function requireReleaseApprovals(release: ReleaseToApprove, spec: Pick<JobSpec, 'sites' | 'evaluators'>, trust: ReleaseApprovalTrust, now: Date = new Date()): QuorumResult {
  const sites = releaseDeciders(spec);
  return requireQuorum(`release ${release.release} of job ${release.job} round ${release.round}`, release.approvals,
    (role, signer) => (role === 'steward' ? trust.stewardKeys.get(signer)?.stewardKeyThumbprint : undefined),
    { consortium: trust.consortium, step: 'release', job: release.job, release: release.release, round: release.round, inputSha256: release.inputSha256 },
    { eligible: { steward: sites }, threshold: { steward: majorityOf(sites.length) } }, now);
}
