import { ReleaseError } from './errors.js';

/**
 * Who must approve a release: at least `siteApprovals` distinct sites among `sites` (each through
 * one of its stewards) and `compliance` approvals by the compliance role (`auditor`).
 */
export interface Quorum {
  readonly sites: readonly string[];
  readonly siteApprovals: number;
  readonly compliance: number;
}

/** The default: a strict majority of the job's sites (trainers and evaluators) plus one compliance approval. */
export function defaultQuorum(sites: readonly string[]): Quorum {
  const distinct = [...new Set(sites)].sort();
  return { sites: distinct, siteApprovals: Math.floor(distinct.length / 2) + 1, compliance: 1 };
}

/** The capacity an approval is counted in: `site:<id>` for a steward, `compliance` for an auditor. */
export type Capacity = `site:${string}` | 'compliance';

export interface Approval {
  readonly capacity: Capacity | string;
  readonly approver: string;
  /** A site steward's signed approval (null: recorded without one, before signatures were required). */
  readonly approval?: string | null;
  /** When the signed approval stops counting. */
  readonly approval_expires_at?: Date | null;
}

export interface Tally {
  readonly sitesApproved: readonly string[];
  readonly complianceApprovals: number;
  readonly reached: boolean;
}

/**
 * Counts distinct approving sites of the quorum and distinct compliance approvers. A site's approval
 * recorded without a signature does not count, nor, given `now`, one whose signature has expired by
 * then (the agents would refuse both).
 */
export function tally(quorum: Quorum, approvals: readonly Approval[], now?: Date): Tally {
  const sites = new Set<string>();
  const compliance = new Set<string>();
  for (const a of approvals) {
    if (a.capacity === 'compliance') compliance.add(a.approver);
    else if (a.capacity.startsWith('site:') && quorum.sites.includes(a.capacity.slice(5)) && stillSigned(a, now)) sites.add(a.capacity.slice(5));
  }
  const sitesApproved = [...sites].sort();
  return {
    sitesApproved, complianceApprovals: compliance.size,
    reached: sitesApproved.length >= quorum.siteApprovals && compliance.size >= quorum.compliance,
  };
}

function stillSigned(a: Approval, now: Date | undefined): boolean {
  if (a.approval === null) return false;
  return now === undefined || !(a.approval_expires_at instanceof Date) || a.approval_expires_at.getTime() > now.getTime();
}

export interface Approver {
  readonly actor: string;
  readonly role: string;
  readonly site?: string | null;
}

/**
 * The capacity in which `who` may approve `release`, or a refusal: a steward approves only for its
 * own site and only if that site takes part in the job; an auditor approves as compliance, but not
 * a release it requested itself (allowed only in development, where one identity plays every role).
 */
export function capacityOf(who: Approver, release: { readonly id: string; readonly requestedBy: string; readonly quorum: Quorum }, development: boolean): Capacity {
  if (who.role === 'site-steward') {
    if (!who.site || !release.quorum.sites.includes(who.site)) {
      throw new ReleaseError('RELEASE_APPROVER_NOT_IN_JOB',
        `a steward of ${who.site ?? 'no site'} cannot approve release ${release.id}: its job's sites are ${release.quorum.sites.join(', ')}`);
    }
    return `site:${who.site}`;
  }
  if (who.role === 'auditor') {
    if (who.actor === release.requestedBy && !development) {
      throw new ReleaseError('RELEASE_SELF_APPROVAL', `${who.actor} requested release ${release.id} and cannot also approve it as compliance`);
    }
    return 'compliance';
  }
  throw new ReleaseError('RELEASE_APPROVER_NOT_IN_JOB', `role ${who.role} does not approve releases (site stewards and the compliance role do)`);
}
