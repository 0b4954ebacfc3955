import { describe, it, expect, beforeAll } from '@jest/globals';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import {
  runKeyCeremony, signSiteList, unwrapSiteKey, type KeyCeremonyInput, type PinnedSite, type SignedSiteList, type SiteList,
} from '../../../src/he/index.js';
import { codeOfAsync } from '../helpers.js';

/** Key epochs: a later epoch's ceremony also wraps earlier epochs' keys for the sites that join with it. */
const PARAM_SET = 'bfv-n4096-q60-t48-2x23';
const JOB = 'job-epochs-1';

interface Site {
  readonly siteId: string;
  readonly steward: { privateKey: CryptoKey; publicJwk: JWK };
  readonly agreement: { privateKey: CryptoKey; publicJwk: JWK };
  readonly pin: PinnedSite;
}

async function enrollSite(siteId: string): Promise<Site> {
  const steward = await generateKeyPair('Ed25519');
  const agreement = await generateKeyPair('ECDH-ES+A256KW', { crv: 'X25519' });
  const stewardJwk = await exportJWK(steward.publicKey);
  const agreementJwk = await exportJWK(agreement.publicKey);
  return {
    siteId, steward: { privateKey: steward.privateKey, publicJwk: stewardJwk }, agreement: { privateKey: agreement.privateKey, publicJwk: agreementJwk },
    pin: { stewardKeyThumbprint: await calculateJwkThumbprint(stewardJwk), keyAgreementKeyThumbprint: await calculateJwkThumbprint(agreementJwk) },
  };
}

let sites: Site[];
let pinned: Map<string, PinnedSite>;

const listOf = (members: readonly Site[], epoch: number): SiteList =>
  ({ job: JOB, epoch, sites: members.map((s) => ({ siteId: s.siteId, keyAgreementJwkThumbprint: s.pin.keyAgreementKeyThumbprint })) });

async function signed(members: readonly Site[], epoch: number): Promise<SignedSiteList> {
  const list = listOf(members, epoch);
  return { list, signatures: await Promise.all(members.map((s) => signSiteList(list, { siteId: s.siteId, ...s.steward }))) };
}

function input(statement: SignedSiteList, extra: Partial<KeyCeremonyInput> = {}): KeyCeremonyInput {
  return {
    paramSetId: PARAM_SET, job: JOB, epoch: statement.list.epoch, statement, pinned,
    keyAgreementKeys: new Map(sites.map((s) => [s.siteId, s.agreement.publicJwk])), generatingSiteId: 'site-a', ...extra,
  };
}

beforeAll(async () => {
  sites = await Promise.all(['site-a', 'site-b', 'site-c', 'site-d'].map(enrollSite));
  pinned = new Map(sites.map((s) => [s.siteId, s.pin]));
});

describe('earlier epochs\' keys for a joining site', () => {
  it('wraps epoch 1\'s key for the joiner of epoch 2, bound to epoch 1; the joiner unwraps exactly that key', async () => {
    const [a, , , d] = sites as [Site, Site, Site, Site];
    const first = await runKeyCeremony(input(await signed(sites.slice(0, 3), 1)));
    expect(first.historyKeys.size).toBe(0);
    const epoch1 = await unwrapSiteKey(first.wrappedKeys.get('site-a')!, a.agreement.privateKey, { siteId: 'site-a', job: JOB, epoch: 1, paramSetId: PARAM_SET });

    const plan = { 'site-d': [{ epoch: 1, keyId: first.publicParams.keyId }] };
    const second = await runKeyCeremony(input(await signed(sites, 2), { history: { plan, keys: new Map([[1, epoch1.secretKey]]) } }));
    expect([...second.historyKeys.keys()]).toEqual(['site-d']);
    expect(second.publicParams.keyId).not.toBe(first.publicParams.keyId);
    const forD = await unwrapSiteKey(second.historyKeys.get('site-d')!['1']!, d.agreement.privateKey,
      { siteId: 'site-d', job: JOB, epoch: 1, paramSetId: PARAM_SET, keyId: first.publicParams.keyId });
    expect(Buffer.from(forD.secretKey).equals(Buffer.from(epoch1.secretKey))).toBe(true);
    // Bound to epoch 1: it does not pass for epoch 2's key.
    expect(await codeOfAsync(() => unwrapSiteKey(second.historyKeys.get('site-d')!['1']!, d.agreement.privateKey,
      { siteId: 'site-d', job: JOB, epoch: 2, paramSetId: PARAM_SET }))).toBe('HE_KEY_CONTEXT_MISMATCH');
  });

  it('refuses to wrap history for a site off the signed list, for a later epoch, or a key that is not the planned one', async () => {
    const listed = await signed(sites.slice(0, 3), 2);
    const a = sites[0]!;
    const first = await runKeyCeremony(input(await signed(sites.slice(0, 3), 1)));
    const key1 = (await unwrapSiteKey(first.wrappedKeys.get('site-a')!, a.agreement.privateKey, { siteId: 'site-a', job: JOB, epoch: 1, paramSetId: PARAM_SET })).secretKey;
    const keys = new Map([[1, key1]]);
    // site-d is pinned but not on this epoch's signed list: the coordinator cannot route history to it.
    expect(await codeOfAsync(() => runKeyCeremony(input(listed, { history: { plan: { 'site-d': [{ epoch: 1, keyId: first.publicParams.keyId }] }, keys } }))))
      .toBe('HE_SITE_LIST_INVALID');
    expect(await codeOfAsync(() => runKeyCeremony(input(listed, { history: { plan: { 'site-c': [{ epoch: 2, keyId: first.publicParams.keyId }] }, keys: new Map([[2, key1]]) } }))))
      .toBe('HE_KEY_CONTEXT_MISMATCH');
    expect(await codeOfAsync(() => runKeyCeremony(input(listed, { history: { plan: { 'site-c': [{ epoch: 1, keyId: '0'.repeat(32) }] }, keys } }))))
      .toBe('HE_KEY_CONTEXT_MISMATCH');
  });
});
