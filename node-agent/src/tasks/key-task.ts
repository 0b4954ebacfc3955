import { calculateJwkThumbprint, type JWK } from 'jose';
import { MedfedError, checkSiteList, runKeyCeremony, signSiteList, type PinnedSites, type SiteList } from '@medfed/proto';
import type { Logger } from 'pino';
import type { SiteKeys } from '../custody/site-keys.js';
import { PIN_HINT, requirePinned, siteListDigest, type SiteListApprovals } from '../custody/site-list-approvals.js';

/** Earlier epochs' keys a joining site must receive with a new epoch. */
export type HistoryPlan = Record<string, { epoch: number; keyId: string }[]>;

export type KeyTask =
  | { phase: 'sign'; siteList: SiteList }
  | {
    phase: 'generate'; statement: { list: SiteList; signatures: string[] }; keyAgreementKeys: Record<string, JWK>; paramSet: string;
    history?: HistoryPlan;
  };

export interface KeyTaskDeps {
  readonly siteId: string;
  readonly keys: SiteKeys;
  readonly pinned: PinnedSites;
  /**
   * The steward's approvals of site lists; each list to sign is recorded here for review. The agent
   * always has one; a harness driving the ceremony with `autoApprove` may leave it out (nothing is recorded).
   */
  readonly approvals?: SiteListApprovals;
  /** Development identities approve site lists automatically (and say so); production needs a steward. */
  readonly autoApprove: boolean;
  readonly log: Logger;
  submitSignature(jws: string): Promise<void>;
  submitKeyMaterial(publicParams: unknown, wrapped: Record<string, string>, history?: Record<string, Record<string, string>>): Promise<void>;
  /**
   * This site's secret key of an earlier epoch (from its key store), for wrapping to joiners; only
   * asked for when the task plans history. The ceremony checks it against the planned key id.
   */
  earlierKey?(epoch: number, keyId: string, paramSet: string): Promise<Uint8Array>;
}

/**
 * The site's part of the key ceremony. Signing: the list is recorded for the steward's review, and
 * signed only once the steward approved exactly that list (`medfed agent approve-site-list`), every
 * listed site is pinned with exactly the listed key, and this site is on it with its own key, so
 * the coordinator cannot slip in a site of its own. Generating: the ceremony re-verifies every
 * signature against the pins before it wraps anything; with a history plan it also wraps this
 * site's earlier epochs' keys for the joiners on the verified list (docs/crypto.md, "Key epochs").
 */
export async function runKeyTask(jobId: string, task: KeyTask, deps: KeyTaskDeps): Promise<void> {
  if (task.phase === 'sign') return signStep(jobId, task.siteList, deps);
  checkSiteList(task.statement?.list);
  requirePinned(task.statement.list, deps.pinned);
  const relayed = new Map(Object.entries(task.keyAgreementKeys));
  for (const [id, jwk] of relayed) {
    const pin = deps.pinned.get(id);
    if (!pin || pin.keyAgreementKeyThumbprint !== (await calculateJwkThumbprint(jwk, 'sha256'))) {
      throw new MedfedError('HE_SITE_UNPINNED', `the key-agreement key relayed for ${id} is not the one pinned; ${PIN_HINT}`);
    }
  }
  const plan = task.history ?? {};
  const earlier = new Map<number, Uint8Array>();
  try {
    for (const { epoch, keyId } of Object.values(plan).flat()) {
      if (earlier.has(epoch)) continue;
      if (!deps.earlierKey) throw new MedfedError('HE_KEY_CONTEXT_MISMATCH', `job ${jobId} asks to hand epoch ${epoch}'s key to a joining site, and this agent cannot read its earlier keys`);
      earlier.set(epoch, await deps.earlierKey(epoch, keyId, task.paramSet));
    }
    const result = await runKeyCeremony({
      paramSetId: task.paramSet, job: jobId, epoch: task.statement.list.epoch, statement: task.statement,
      pinned: deps.pinned, keyAgreementKeys: relayed, generatingSiteId: deps.siteId,
      ...(earlier.size > 0 ? { history: { plan, keys: earlier } } : {}),
    });
    await deps.submitKeyMaterial(result.publicParams, Object.fromEntries(result.wrappedKeys),
      result.historyKeys.size > 0 ? Object.fromEntries(result.historyKeys) : undefined);
    deps.log.info({ job: jobId, epoch: result.publicParams.epoch, keyId: result.publicParams.keyId, joiners: Object.keys(plan) },
      'key ceremony done: HE keys generated and wrapped for the listed sites');
  } finally {
    for (const bytes of earlier.values()) bytes.fill(0);
  }
}

async function signStep(jobId: string, list: SiteList, deps: KeyTaskDeps): Promise<void> {
  checkSiteList(list);
  if (list.job !== jobId) throw new MedfedError('HE_SITE_LIST_INVALID', `site list is for job ${list.job}, task is for ${jobId}`);
  const mine = list.sites.find((s) => s.siteId === deps.siteId);
  if (!mine || mine.keyAgreementJwkThumbprint !== deps.keys.keyAgreement.thumbprint) {
    throw new MedfedError('HE_SITE_LIST_INVALID', 'the site list does not carry this site with its own key-agreement key');
  }
  // Recorded first, so the steward can review a list that names a site not pinned yet.
  const digest = deps.approvals ? (await deps.approvals.announce(list)).digest : siteListDigest(list);
  requirePinned(list, deps.pinned);
  if (!(await deps.approvals?.approvalOf(list))) {
    if (!deps.autoApprove) {
      throw new MedfedError('HE_SITE_LIST_UNSIGNED', `job ${jobId} waits for this site's steward to approve its site list: medfed agent approve-site-list --job ${jobId}`);
    }
    await deps.approvals?.approve({
      jobId, epoch: list.epoch, digest, approvedAt: new Date().toISOString(), approver: 'development', mode: 'development',
    });
    deps.log.warn({ job: jobId, epoch: list.epoch }, 'site list approved automatically by a DEVELOPMENT steward identity (custody.autoApproveSiteLists)');
  }
  const jws = await signSiteList(list, { siteId: deps.siteId, privateKey: deps.keys.steward.privateKey, publicJwk: deps.keys.steward.publicJwk });
  await deps.submitSignature(jws);
  deps.log.info({ job: jobId, epoch: list.epoch, sites: list.sites.map((s) => s.siteId), digest }, 'site list signed');
}
