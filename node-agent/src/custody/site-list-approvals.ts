import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MedfedError, checkSiteList, siteListBytes, type PinnedSites, type SiteList } from '@medfed/proto';
import { writeFileAtomic } from '../privacy/ledger/atomic-write.js';
import { withFileLock } from '../privacy/ledger/file-lock.js';
import { CustodyError } from './errors.js';

/** A job's site list as the coordinator announced it in a key-ceremony sign task. */
export interface SiteListAnnouncement {
  readonly jobId: string;
  readonly epoch: number;
  /** SHA-256 (hex) of the list's RFC 8785 canonical form: exactly the bytes the steward signs. */
  readonly digest: string;
  readonly list: SiteList;
  readonly announcedAt: string;
}

/** The steward's approval of one exact site list (job, epoch and digest). */
export interface SiteListApproval {
  readonly jobId: string;
  readonly epoch: number;
  readonly digest: string;
  readonly approvedAt: string;
  readonly approver: string;
  /** `development`: granted by `custody.autoApproveSiteLists`, never by a steward. */
  readonly mode: 'steward' | 'development';
}

interface ApprovalsFile {
  readonly version: 1;
  readonly announced: SiteListAnnouncement[];
  readonly approvals: SiteListApproval[];
}

export const SITE_LIST_APPROVALS_FILE = 'site-list-approvals.json';
const DIGEST = /^[0-9a-f]{64}$/;

export function siteListDigest(list: SiteList): string {
  return createHash('sha256').update(siteListBytes(list)).digest('hex');
}

/**
 * The steward's approvals of site lists, in `<stateDir>/custody/site-list-approvals.json` (mode
 * 0600, replaced atomically under a lock). The agent records each list it is asked to sign; the
 * steward approves it with `medfed agent approve-site-list --job J`; the agent signs a list only
 * while an approval of its exact digest is recorded.
 */
export class SiteListApprovals {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'custody', SITE_LIST_APPROVALS_FILE);
  }

  /** Remembers the latest list announced for a job, for the steward to review. */
  async announce(list: SiteList, now = new Date()): Promise<SiteListAnnouncement> {
    const announcement: SiteListAnnouncement = { jobId: list.job, epoch: list.epoch, digest: siteListDigest(list), list, announcedAt: now.toISOString() };
    await this.update((file) => {
      const previous = file.announced.find((a) => a.jobId === list.job);
      if (previous?.digest === announcement.digest) return undefined;
      return { ...file, announced: [...file.announced.filter((a) => a.jobId !== list.job), announcement] };
    });
    return announcement;
  }

  async announcement(jobId: string): Promise<SiteListAnnouncement | undefined> {
    return (await this.read()).announced.find((a) => a.jobId === jobId);
  }

  async approvalOf(list: SiteList): Promise<SiteListApproval | undefined> {
    const digest = siteListDigest(list);
    return (await this.read()).approvals.find((a) => a.jobId === list.job && a.epoch === list.epoch && a.digest === digest);
  }

  async list(): Promise<{ announced: readonly SiteListAnnouncement[]; approvals: readonly SiteListApproval[] }> {
    return this.read();
  }

  /** Records the approval of a list (replacing an earlier one for the same job and epoch). */
  async approve(approval: SiteListApproval): Promise<SiteListApproval> {
    checkApproval(approval, 'approval');
    await this.update((file) => ({
      ...file,
      approvals: [...file.approvals.filter((a) => a.jobId !== approval.jobId || a.epoch !== approval.epoch), approval],
    }));
    return approval;
  }

  private async update(change: (file: ApprovalsFile) => ApprovalsFile | undefined): Promise<void> {
    await mkdir(join(this.path, '..'), { recursive: true, mode: 0o700 });
    await withFileLock(`${this.path}.lock`, async () => {
      const next = change(await this.read());
      if (next !== undefined) await writeFileAtomic(this.path, `${JSON.stringify(next, null, 2)}\n`, 0o600);
    });
  }

  private async read(): Promise<ApprovalsFile> {
    let text: string;
    try {
      const info = await lstat(this.path);
      if (!info.isFile() || (info.mode & 0o077) !== 0) {
        throw new CustodyError('SITE_LIST_APPROVAL_STATE_INVALID', `${this.path} must be a regular file with mode 0600 (it is ${(info.mode & 0o777).toString(8)})`);
      }
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') return { version: 1, announced: [], approvals: [] };
      if (err instanceof CustodyError) throw err;
      throw new CustodyError('SITE_LIST_APPROVAL_STATE_INVALID', `cannot read ${this.path}: ${(err as { code?: string }).code ?? 'error'}`);
    }
    let file: Partial<ApprovalsFile>;
    try {
      file = JSON.parse(text) as Partial<ApprovalsFile>;
    } catch {
      throw new CustodyError('SITE_LIST_APPROVAL_STATE_INVALID', `${this.path} is not valid JSON`);
    }
    if (typeof file !== 'object' || file === null || file.version !== 1 || !Array.isArray(file.announced) || !Array.isArray(file.approvals)) {
      throw new CustodyError('SITE_LIST_APPROVAL_STATE_INVALID', `${this.path} is not a site-list approvals file (version 1 with announced and approvals lists)`);
    }
    for (const a of file.approvals) checkApproval(a, this.path);
    return file as ApprovalsFile;
  }
}

function checkApproval(a: SiteListApproval, source: string): void {
  const ok = typeof a === 'object' && a !== null && typeof a.jobId === 'string' && a.jobId !== '' && Number.isSafeInteger(a.epoch) && a.epoch >= 0 &&
    typeof a.digest === 'string' && DIGEST.test(a.digest) && typeof a.approver === 'string' && a.approver.trim() !== '' && a.approver.length <= 128 &&
    typeof a.approvedAt === 'string' && !Number.isNaN(Date.parse(a.approvedAt)) && (a.mode === 'steward' || a.mode === 'development');
  if (!ok) throw new CustodyError('SITE_LIST_APPROVAL_STATE_INVALID', `${source}: a site-list approval needs jobId, epoch, digest (64 hex), approver, approvedAt and mode`);
}

/** One listed site as the steward reviews it: the listed key and what this site pinned for it. */
export interface ReviewedSite {
  readonly siteId: string;
  readonly keyAgreementKeyThumbprint: string;
  /** The pinned steward key, when the site is pinned. */
  readonly stewardKeyThumbprint: string | null;
  /** Pinned with exactly the listed key-agreement key. */
  readonly pinned: boolean;
}

export function reviewSiteList(list: SiteList, pinned: PinnedSites): ReviewedSite[] {
  return list.sites.map((s) => {
    const pin = pinned.get(s.siteId);
    return {
      siteId: s.siteId,
      keyAgreementKeyThumbprint: s.keyAgreementJwkThumbprint,
      stewardKeyThumbprint: pin?.stewardKeyThumbprint ?? null,
      pinned: pin?.keyAgreementKeyThumbprint === s.keyAgreementJwkThumbprint,
    };
  });
}

/** What a steward who finds a site unpinned does about it. */
export const PIN_HINT = 'pin it with medfed agent pin-site --site S --steward-thumbprint T1 --kex-thumbprint T2, or import the consortium roster with medfed agent roster import FILE';

/** Refuses a list with a site that is not pinned with exactly the listed key-agreement key. */
export function requirePinned(list: SiteList, pinned: PinnedSites): void {
  const unpinned = reviewSiteList(list, pinned).filter((s) => !s.pinned);
  if (unpinned.length === 0) return;
  const what = unpinned.map((s) => (pinned.has(s.siteId) ? `${s.siteId} (pinned with another key-agreement key than the listed ${s.keyAgreementKeyThumbprint})` : `${s.siteId} (not pinned)`));
  throw new MedfedError('HE_SITE_UNPINNED', `the site list of job ${list.job} epoch ${list.epoch} names ${what.join(', ')}; ${PIN_HINT}`);
}

export interface SiteListReview {
  readonly announcement: SiteListAnnouncement;
  readonly sites: readonly ReviewedSite[];
}

/** The list the coordinator announced for a job, each site beside what this site pinned for it. */
export async function reviewAnnouncedSiteList(store: SiteListApprovals, jobId: string, pinned: PinnedSites): Promise<SiteListReview> {
  const announcement = await store.announcement(jobId);
  if (announcement === undefined) {
    throw new CustodyError('SITE_LIST_NOT_ANNOUNCED', `this agent has not been asked to sign a site list of job ${jobId} yet; start the agent so the key ceremony announces it, then approve it`);
  }
  checkSiteList(announcement.list);
  if (siteListDigest(announcement.list) !== announcement.digest) {
    throw new CustodyError('SITE_LIST_APPROVAL_STATE_INVALID', `${store.path}: the recorded site list of job ${jobId} does not match its digest`);
  }
  return { announcement, sites: reviewSiteList(announcement.list, pinned) };
}

/**
 * `medfed agent approve-site-list`: the steward approves the reviewed list, only if every listed
 * site is pinned with the listed key; the agent signs it on its next poll.
 */
export async function approveSiteList(
  store: SiteListApprovals, review: SiteListReview, pinned: PinnedSites, options: { approver: string; now?: Date },
): Promise<SiteListApproval> {
  const { announcement } = review;
  requirePinned(announcement.list, pinned);
  return store.approve({
    jobId: announcement.jobId, epoch: announcement.epoch, digest: announcement.digest,
    approvedAt: (options.now ?? new Date()).toISOString(), approver: options.approver, mode: 'steward',
  });
}
