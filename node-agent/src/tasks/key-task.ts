import { calculateJwkThumbprint, type JWK } from 'jose';
import { MedfedError, runKeyCeremony, signSiteList, type PinnedSites, type SiteList } from '@medfed/proto';
import type { Logger } from 'pino';
import type { SiteKeys } from '../custody/site-keys.js';

export type KeyTask =
  | { phase: 'sign'; siteList: SiteList }
  | { phase: 'generate'; statement: { list: SiteList; signatures: string[] }; keyAgreementKeys: Record<string, JWK>; paramSet: string };

export interface KeyTaskDeps {
  readonly siteId: string;
  readonly keys: SiteKeys;
  readonly pinned: PinnedSites;
  /** Development identities approve site lists automatically (and say so); production needs a steward. */
  readonly autoApprove: boolean;
  readonly log: Logger;
  submitSignature(jws: string): Promise<void>;
  submitKeyMaterial(publicParams: unknown, wrapped: Record<string, string>): Promise<void>;
}

/**
 * The site's part of the key ceremony. Signing: the steward approves the list only if every listed
 * site is pinned with exactly the listed key, and this site is on it with its own key, so the
 * coordinator cannot slip in a site of its own. Generating: the ceremony re-verifies every
 * signature against the pins before it wraps anything.
 */
export async function runKeyTask(jobId: string, task: KeyTask, deps: KeyTaskDeps): Promise<void> {
  if (task.phase === 'sign') {
    const list = task.siteList;
    if (list.job !== jobId) throw new MedfedError('HE_SITE_LIST_INVALID', `site list is for job ${list.job}, task is for ${jobId}`);
    const mine = list.sites.find((s) => s.siteId === deps.siteId);
    if (!mine || mine.keyAgreementJwkThumbprint !== deps.keys.keyAgreement.thumbprint) {
      throw new MedfedError('HE_SITE_LIST_INVALID', 'the site list does not carry this site with its own key-agreement key');
    }
    for (const s of list.sites) {
      const pin = deps.pinned.get(s.siteId);
      if (!pin || pin.keyAgreementKeyThumbprint !== s.keyAgreementJwkThumbprint) {
        throw new MedfedError('HE_SITE_UNPINNED', `site ${s.siteId} on the list of job ${jobId} is not pinned with that key; refusing to approve`);
      }
    }
    if (!deps.autoApprove) {
      throw new MedfedError('HE_SITE_LIST_UNSIGNED', `job ${jobId} waits for this site's steward to approve its site list (medfed keys approve)`);
    }
    if (deps.keys.steward.development) deps.log.warn({ job: jobId }, 'site list approved automatically by a DEVELOPMENT steward identity');
    const jws = await signSiteList(list, { siteId: deps.siteId, privateKey: deps.keys.steward.privateKey, publicJwk: deps.keys.steward.publicJwk });
    await deps.submitSignature(jws);
    deps.log.info({ job: jobId, sites: list.sites.map((s) => s.siteId) }, 'site list signed');
    return;
  }
  const relayed = new Map(Object.entries(task.keyAgreementKeys));
  for (const [id, jwk] of relayed) {
    const pin = deps.pinned.get(id);
    if (!pin || pin.keyAgreementKeyThumbprint !== (await calculateJwkThumbprint(jwk, 'sha256'))) {
      throw new MedfedError('HE_SITE_UNPINNED', `the key-agreement key relayed for ${id} is not the one pinned`);
    }
  }
  const result = await runKeyCeremony({
    paramSetId: task.paramSet, job: jobId, epoch: task.statement.list.epoch, statement: task.statement,
    pinned: deps.pinned, keyAgreementKeys: relayed, generatingSiteId: deps.siteId,
  });
  await deps.submitKeyMaterial(result.publicParams, Object.fromEntries(result.wrappedKeys));
  deps.log.info({ job: jobId, keyId: result.publicParams.keyId }, 'key ceremony done: HE keys generated and wrapped for the listed sites');
}
