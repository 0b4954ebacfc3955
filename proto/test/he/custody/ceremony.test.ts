import { describe, it, expect, beforeAll } from '@jest/globals';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import {
  EncryptedAccumulator, decryptAggregate, encryptUpdate, heContext, importSecretKey, vectorHeader,
  runKeyCeremony, signSiteList, unwrapSiteKey, verifySiteList,
  type KeyCeremonyInput, type PinnedSite, type SignedSiteList, type SiteList,
} from '../../../src/he/index.js';
import { codeOfAsync, compare, uniformVector, weightedAverage } from '../helpers.js';

const PARAM_SET = 'bfv-n4096-q60-t48-2x23';
const JOB = 'job-sepsis-7';
const EPOCH = 3;

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
    siteId,
    steward: { privateKey: steward.privateKey, publicJwk: stewardJwk },
    agreement: { privateKey: agreement.privateKey, publicJwk: agreementJwk },
    pin: { stewardKeyThumbprint: await calculateJwkThumbprint(stewardJwk), keyAgreementKeyThumbprint: await calculateJwkThumbprint(agreementJwk) },
  };
}

let sites: Site[];
let outsider: Site;
let coordinatorKey: { privateKey: CryptoKey; publicJwk: JWK };
let pinned: Map<string, PinnedSite>;

function listOf(members: readonly Site[], epoch = EPOCH): SiteList {
  return { job: JOB, epoch, sites: members.map((s) => ({ siteId: s.siteId, keyAgreementJwkThumbprint: s.pin.keyAgreementKeyThumbprint })) };
}

async function signedBy(list: SiteList, signers: readonly Site[]): Promise<SignedSiteList> {
  return { list, signatures: await Promise.all(signers.map((s) => signSiteList(list, { siteId: s.siteId, ...s.steward }))) };
}

function ceremonyInput(statement: SignedSiteList, overrides: Partial<KeyCeremonyInput> = {}): KeyCeremonyInput {
  const keyAgreementKeys = new Map<string, JWK>([...sites, outsider].map((s) => [s.siteId, s.agreement.publicJwk]));
  keyAgreementKeys.set('coordinator', coordinatorKey.publicJwk);
  return { paramSetId: PARAM_SET, job: JOB, epoch: EPOCH, statement, pinned, keyAgreementKeys, generatingSiteId: sites[0]!.siteId, ...overrides };
}

beforeAll(async () => {
  sites = await Promise.all(['site-a', 'site-b', 'site-c'].map(enrollSite));
  outsider = await enrollSite('site-x');
  const coordinator = await generateKeyPair('ECDH-ES+A256KW', { crv: 'X25519' });
  coordinatorKey = { privateKey: coordinator.privateKey, publicJwk: await exportJWK(coordinator.publicKey) };
  pinned = new Map([...sites, outsider].map((s) => [s.siteId, s.pin]));
});

describe('key custody ceremony', () => {
  it('wraps the key for exactly the signed sites; each unwraps the same key and they aggregate together', async () => {
    const { publicParams, wrappedKeys } = await runKeyCeremony(ceremonyInput(await signedBy(listOf(sites), sites)));
    expect([...wrappedKeys.keys()].sort()).toEqual(['site-a', 'site-b', 'site-c']);
    expect(publicParams).toMatchObject({ job: JOB, epoch: EPOCH, paramSetId: PARAM_SET, sites: ['site-a', 'site-b', 'site-c'] });
    const context = await heContext(PARAM_SET);
    expect(publicParams.paramsDigest).toBe(context.digest);

    const keys = await Promise.all(sites.map(async (site) => {
      const unwrapped = await unwrapSiteKey(wrappedKeys.get(site.siteId)!, site.agreement.privateKey,
        { siteId: site.siteId, job: JOB, epoch: EPOCH, paramSetId: PARAM_SET, keyId: publicParams.keyId });
      const key = importSecretKey(context, unwrapped.secretKey);
      unwrapped.secretKey.fill(0);
      return key;
    }));
    expect(keys.map((k) => k.keyId)).toEqual([publicParams.keyId, publicParams.keyId, publicParams.keyId]);

    // The coordinator holds no key: it only adds.
    const quant = { clip: 1, fracBits: 17, maxSites: 8 };
    const updates = [1, 2, 3].map((s) => uniformVector(5000, 1, s));
    const acc = EncryptedAccumulator.create(context, vectorHeader(context, publicParams.keyId, 5000, { kind: 'fixed-point', ...quant }));
    keys.forEach((k, i) => acc.addVector(sites[i]!.siteId, encryptUpdate(context, k, updates[i]!, { ...quant, weight: 1 / 3 })));
    const sum = acc.finish();
    acc.dispose();
    const averages = keys.map((k) => decryptAggregate(context, k, sum, { totalWeight: 1 }));
    expect(compare(averages[2]!, weightedAverage(updates, [1, 1, 1])).relativeL2).toBeLessThan(1e-4);
    expect(Buffer.from(averages[0]!.buffer).equals(Buffer.from(averages[1]!.buffer))).toBe(true);
    for (const k of keys) k.dispose();
  });

  it('the coordinator (or any other site) cannot unwrap a site key', async () => {
    const { wrappedKeys } = await runKeyCeremony(ceremonyInput(await signedBy(listOf(sites), sites)));
    const expectation = { siteId: 'site-b', job: JOB, epoch: EPOCH, paramSetId: PARAM_SET };
    expect(await codeOfAsync(() => unwrapSiteKey(wrappedKeys.get('site-b')!, coordinatorKey.privateKey, expectation))).toBe('HE_KEY_UNWRAP_FAILED');
    expect(await codeOfAsync(() => unwrapSiteKey(wrappedKeys.get('site-b')!, sites[2]!.agreement.privateKey, expectation))).toBe('HE_KEY_UNWRAP_FAILED');
    const jwe = wrappedKeys.get('site-b')!;
    const tampered = `${jwe.slice(0, -5)}${jwe.slice(-5) === 'AAAAA' ? 'BBBBB' : 'AAAAA'}`;
    expect(await codeOfAsync(() => unwrapSiteKey(tampered, sites[1]!.agreement.privateKey, expectation))).toBe('HE_KEY_UNWRAP_FAILED');
  });

  it('a wrapped key is only accepted for its own job, epoch, site and parameters', async () => {
    const { wrappedKeys } = await runKeyCeremony(ceremonyInput(await signedBy(listOf(sites), sites)));
    const jwe = wrappedKeys.get('site-a')!;
    const key = sites[0]!.agreement.privateKey;
    const ok = { siteId: 'site-a', job: JOB, epoch: EPOCH, paramSetId: PARAM_SET };
    for (const wrong of [{ job: 'other-job' }, { epoch: EPOCH + 1 }, { siteId: 'site-b' }, { paramSetId: 'bfv-n4096-q60-t40-1x39' }, { keyId: '0'.repeat(32) }]) {
      expect(await codeOfAsync(() => unwrapSiteKey(jwe, key, { ...ok, ...wrong }))).toBe('HE_KEY_CONTEXT_MISMATCH');
    }
    const unwrapped = await unwrapSiteKey(jwe, key, ok);
    expect(unwrapped.secretKey.byteLength).toBeGreaterThan(1000);
    unwrapped.secretKey.fill(0);
  });

  it('refuses a list with an unsigned site', async () => {
    const statement = await signedBy(listOf(sites), sites.slice(0, 2));
    expect(await codeOfAsync(() => runKeyCeremony(ceremonyInput(statement)))).toBe('HE_SITE_LIST_UNSIGNED');
  });

  it('refuses a forged signature: made with a key that is not the pinned steward key', async () => {
    const list = listOf(sites);
    const forger = await enrollSite('site-c');
    const statement = { list, signatures: [...(await signedBy(list, sites.slice(0, 2))).signatures, await signSiteList(list, { siteId: 'site-c', ...forger.steward })] };
    expect(await codeOfAsync(() => verifySiteList(statement, { job: JOB, epoch: EPOCH, pinned }))).toBe('HE_SITE_LIST_SIGNATURE_INVALID');
  });

  it('refuses a list changed after signing (a site slipped in) and a signature with altered bytes', async () => {
    const signed = await signedBy(listOf(sites), sites);
    const widened = { list: listOf([...sites, outsider]), signatures: [...signed.signatures, await signSiteList(listOf([...sites, outsider]), { siteId: 'site-x', ...outsider.steward })] };
    expect(await codeOfAsync(() => runKeyCeremony(ceremonyInput(widened)))).toBe('HE_SITE_LIST_SIGNATURE_INVALID');
    const [h, p, s] = signed.signatures[1]!.split('.');
    const flipped = `${h}.${p}.${s!.startsWith('A') ? 'B' : 'A'}${s!.slice(1)}`;
    const altered = { list: signed.list, signatures: [signed.signatures[0]!, flipped, signed.signatures[2]!] };
    expect(await codeOfAsync(() => verifySiteList(altered, { job: JOB, epoch: EPOCH, pinned }))).toBe('HE_SITE_LIST_SIGNATURE_INVALID');
  });

  it('refuses an unpinned site and a site listed with another key-agreement key', async () => {
    const stranger = await enrollSite('site-z');
    const withStranger = listOf([...sites, stranger]);
    const strangerStatement = await signedBy(withStranger, [...sites, stranger]);
    expect(await codeOfAsync(() => verifySiteList(strangerStatement, { job: JOB, epoch: EPOCH, pinned }))).toBe('HE_SITE_UNPINNED');
    const swapped: SiteList = { ...listOf(sites), sites: listOf(sites).sites.map((s) => (s.siteId === 'site-b' ? { ...s, keyAgreementJwkThumbprint: stranger.pin.keyAgreementKeyThumbprint } : s)) };
    const swappedStatement = await signedBy(swapped, sites);
    expect(await codeOfAsync(() => verifySiteList(swappedStatement, { job: JOB, epoch: EPOCH, pinned }))).toBe('HE_SITE_UNPINNED');
  });

  it('refuses a relayed key-agreement key that is not the listed one (a coordinator swap)', async () => {
    const statement = await signedBy(listOf(sites), sites);
    const input = ceremonyInput(statement);
    const keys = new Map(input.keyAgreementKeys);
    keys.set('site-b', coordinatorKey.publicJwk);
    expect(await codeOfAsync(() => runKeyCeremony({ ...input, keyAgreementKeys: keys }))).toBe('HE_KEY_AGREEMENT_KEY_INVALID');
    keys.delete('site-b');
    expect(await codeOfAsync(() => runKeyCeremony({ ...input, keyAgreementKeys: keys }))).toBe('HE_KEY_AGREEMENT_KEY_INVALID');
  });

  it('needs at least 3 sites, the expected job and epoch, and a listed generating site', async () => {
    const two = await signedBy(listOf(sites.slice(0, 2)), sites.slice(0, 2));
    expect(await codeOfAsync(() => runKeyCeremony(ceremonyInput(two)))).toBe('HE_TOO_FEW_SITES');
    const stale = await signedBy(listOf(sites, EPOCH - 1), sites);
    expect(await codeOfAsync(() => runKeyCeremony(ceremonyInput(stale)))).toBe('HE_KEY_CONTEXT_MISMATCH');
    const statement = await signedBy(listOf(sites), sites);
    expect(await codeOfAsync(() => runKeyCeremony(ceremonyInput(statement, { job: 'other-job' })))).toBe('HE_KEY_CONTEXT_MISMATCH');
    expect(await codeOfAsync(() => runKeyCeremony(ceremonyInput(statement, { generatingSiteId: 'site-x' })))).toBe('HE_SITE_LIST_INVALID');
    const duplicate = { ...listOf(sites), sites: [...listOf(sites).sites, listOf(sites).sites[0]!] };
    expect(await codeOfAsync(() => verifySiteList({ list: duplicate, signatures: [] }, { job: JOB, epoch: EPOCH, pinned }))).toBe('HE_SITE_LIST_INVALID');
  });
});
