import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { verifySiteList, type PinnedSite, type SiteList } from '@medfed/proto';
import { pinsOf, ensureSiteKeys, type SiteKeys } from '../../src/custody/site-keys.js';
import { SiteListApprovals, approveSiteList, reviewAnnouncedSiteList, siteListDigest } from '../../src/custody/site-list-approvals.js';
import { runKeyTask, type KeyTaskDeps } from '../../src/tasks/key-task.js';
import { memoryLog } from '../support/memory-log.js';

const IDS = ['site-a', 'site-b', 'site-c'];
let root: string;
const keys: Record<string, SiteKeys> = {};
let pinned: Map<string, PinnedSite>;

function listFor(epoch: number, ids = IDS): SiteList {
  return { job: 'job-1', epoch, sites: ids.map((id) => ({ siteId: id, keyAgreementJwkThumbprint: keys[id]!.keyAgreement.thumbprint })) };
}

function depsOf(siteId: string, options: { autoApprove?: boolean; pins?: Map<string, PinnedSite> } = {}) {
  const signatures: string[] = [];
  const { log, messages } = memoryLog();
  const approvals = new SiteListApprovals(join(root, siteId));
  const deps: KeyTaskDeps = {
    siteId, keys: keys[siteId]!, pinned: options.pins ?? pinned, approvals, autoApprove: options.autoApprove ?? false, log,
    submitSignature: async (jws) => { signatures.push(jws); },
    submitKeyMaterial: async () => { throw new Error('not in these tests'); },
  };
  return { deps, approvals, signatures, messages };
}

async function failureOf(p: Promise<unknown>): Promise<{ code?: string; message?: string }> {
  return p.then(() => ({ code: 'resolved' }), (err: { code?: string; message?: string }) => err);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'medfed-key-task-'));
  for (const id of [...IDS, 'site-x']) keys[id] = await ensureSiteKeys(join(root, id));
  pinned = new Map(IDS.map((id) => {
    const { stewardKeyThumbprint, keyAgreementKeyThumbprint } = pinsOf(id, keys[id]!);
    return [id, { stewardKeyThumbprint, keyAgreementKeyThumbprint }];
  }));
});
afterAll(async () => rm(root, { recursive: true, force: true }));

describe('key task: the steward approves the site list before the site signs it', () => {
  it('refuses to sign an unapproved list, naming the command, and records the list for review', async () => {
    const { deps, approvals, signatures } = depsOf('site-a');
    const err = await failureOf(runKeyTask('job-1', { phase: 'sign', siteList: listFor(1) }, deps));
    expect(err.code).toBe('HE_SITE_LIST_UNSIGNED');
    expect(err.message).toContain("waits for this site's steward to approve its site list: medfed agent approve-site-list --job job-1");
    expect(signatures).toEqual([]);
    expect(await approvals.announcement('job-1')).toMatchObject({ epoch: 1, digest: siteListDigest(listFor(1)), list: listFor(1) });
  });

  it('signs once every steward approved exactly that list, and the signed list verifies against the pins', async () => {
    const collected: string[] = [];
    for (const id of IDS) {
      const { deps, approvals, signatures } = depsOf(id);
      await failureOf(runKeyTask('job-1', { phase: 'sign', siteList: listFor(1) }, deps));
      const review = await reviewAnnouncedSiteList(approvals, 'job-1', pinned);
      expect(review.sites.every((s) => s.pinned)).toBe(true);
      await approveSiteList(approvals, review, pinned, { approver: `steward-of-${id}` });
      await runKeyTask('job-1', { phase: 'sign', siteList: listFor(1) }, deps);
      expect(signatures).toHaveLength(1);
      collected.push(...signatures);
    }
    await expect(verifySiteList({ list: listFor(1), signatures: collected }, { job: 'job-1', epoch: 1, pinned })).resolves.toEqual(listFor(1));
  });

  it('does not take an approval of one list for another (a new epoch needs a new approval)', async () => {
    const { deps, approvals, signatures } = depsOf('site-b');
    const err = await failureOf(runKeyTask('job-1', { phase: 'sign', siteList: listFor(2) }, deps));
    expect(err.code).toBe('HE_SITE_LIST_UNSIGNED');
    expect(signatures).toEqual([]);
    expect((await approvals.announcement('job-1'))?.epoch).toBe(2);
  });

  it('refuses a list naming a site that is not pinned, pointing at pin-site and roster import; the steward cannot approve it', async () => {
    const { deps, approvals, signatures } = depsOf('site-c');
    const withStranger = listFor(3, [...IDS, 'site-x']);
    const err = await failureOf(runKeyTask('job-1', { phase: 'sign', siteList: withStranger }, deps));
    expect(err.code).toBe('HE_SITE_UNPINNED');
    expect(err.message).toContain('site-x (not pinned)');
    expect(err.message).toContain('medfed agent pin-site');
    expect(err.message).toContain('medfed agent roster import');
    const review = await reviewAnnouncedSiteList(approvals, 'job-1', pinned);
    expect(review.sites.find((s) => s.siteId === 'site-x')).toMatchObject({ pinned: false, stewardKeyThumbprint: null });
    expect((await failureOf(approveSiteList(approvals, review, pinned, { approver: 'steward' }))).code).toBe('HE_SITE_UNPINNED');
    expect(signatures).toEqual([]);
  });

  it('approves automatically with custody.autoApproveSiteLists (development), recorded and logged as such', async () => {
    const { deps, approvals, signatures, messages } = depsOf('site-a', { autoApprove: true });
    await runKeyTask('job-1', { phase: 'sign', siteList: listFor(4) }, deps);
    expect(signatures).toHaveLength(1);
    expect(await approvals.approvalOf(listFor(4))).toMatchObject({ mode: 'development', approver: 'development', epoch: 4 });
    expect(messages(/approved automatically by a DEVELOPMENT steward identity/)).toHaveLength(1);
  });

  it('refuses to generate keys for a list with a site not pinned here', async () => {
    const { deps } = depsOf('site-a');
    const list = listFor(5, [...IDS, 'site-x']);
    const err = await failureOf(runKeyTask('job-1', {
      phase: 'generate', statement: { list, signatures: [] }, keyAgreementKeys: {}, paramSet: 'bfv-n4096-q60-t48-2x23',
    }, deps));
    expect(err.code).toBe('HE_SITE_UNPINNED');
    expect(err.message).toContain('medfed agent pin-site');
  });
});
