import { CompactEncrypt, calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import { heContext } from '../context.js';
import { HeError } from '../errors.js';
import { generateKeys, secretKeyId } from '../secret-key.js';
import { verifySiteList, type PinnedSites, type SignedSiteList } from './site-list.js';

export const WRAPPED_KEY_TYP = 'medfed-he-key+jwe';

/** What the coordinator stores and publishes: no secret in it. */
export interface HePublicParams {
  readonly format: 'medfed-he-public-params/1';
  readonly job: string;
  readonly epoch: number;
  readonly paramSetId: string;
  readonly paramsDigest: string;
  readonly keyId: string;
  readonly sites: readonly string[];
  readonly generatingSiteId: string;
}

export interface KeyCeremonyInput {
  readonly paramSetId: string;
  readonly job: string;
  readonly epoch: number;
  readonly statement: SignedSiteList;
  readonly pinned: PinnedSites;
  /** Key-agreement public JWKs as relayed; only those of listed sites are used, each checked against the list. */
  readonly keyAgreementKeys: ReadonlyMap<string, JWK>;
  /** The site running the ceremony; it must be on the list. */
  readonly generatingSiteId: string;
  /**
   * Key epochs after the first: listed sites that lack earlier epochs' keys (joiners), the epochs
   * each must receive, and those earlier secret keys as the generating site holds them.
   */
  readonly history?: HistoryInput;
}

export interface HistoryInput {
  /** Site id -> earlier epochs (and their key ids) the site must receive. */
  readonly plan: Readonly<Record<string, readonly { readonly epoch: number; readonly keyId: string }[]>>;
  /** Earlier epoch -> its secret key (SEAL serialisation); the caller zeroises its copies. */
  readonly keys: ReadonlyMap<number, Uint8Array>;
}

export interface KeyCeremonyResult {
  readonly publicParams: HePublicParams;
  /** Compact JWE (ECDH-ES+A256KW over X25519, A256GCM) of the secret key, per listed site. */
  readonly wrappedKeys: ReadonlyMap<string, string>;
  /** Earlier epochs' keys wrapped for joiners: site id -> epoch (as a string) -> compact JWE. */
  readonly historyKeys: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

/**
 * Runs at the generating site: verifies the signed site list, creates the job's key set and
 * wraps the secret key for exactly the listed sites (itself included, so every site loads the key
 * the same way). Job, epoch, site, parameter digest and key id ride in the JWE protected header,
 * which AES-GCM authenticates. The plaintext key is wiped before returning.
 */
export async function runKeyCeremony(input: KeyCeremonyInput): Promise<KeyCeremonyResult> {
  const list = await verifySiteList(input.statement, { job: input.job, epoch: input.epoch, pinned: input.pinned });
  if (!list.sites.some((s) => s.siteId === input.generatingSiteId)) {
    throw new HeError('HE_SITE_LIST_INVALID', `generating site ${JSON.stringify(input.generatingSiteId)} is not on the signed site list`);
  }
  const recipients: { siteId: string; jwk: JWK }[] = [];
  for (const site of list.sites) {
    const jwk = input.keyAgreementKeys.get(site.siteId);
    const k = jwk as Record<string, unknown> | undefined;
    if (k === undefined || k.kty !== 'OKP' || k.crv !== 'X25519' || typeof k.x !== 'string' || k.d !== undefined) {
      throw new HeError('HE_KEY_AGREEMENT_KEY_INVALID', `site ${JSON.stringify(site.siteId)} has no X25519 public key-agreement JWK`);
    }
    const thumbprint = await calculateJwkThumbprint(jwk!, 'sha256');
    if (thumbprint !== site.keyAgreementJwkThumbprint) {
      throw new HeError('HE_KEY_AGREEMENT_KEY_INVALID', `the key relayed for ${JSON.stringify(site.siteId)} has thumbprint ${thumbprint}; the signed list names ${site.keyAgreementJwkThumbprint}`);
    }
    recipients.push({ siteId: site.siteId, jwk: { kty: 'OKP', crv: 'X25519', x: k.x } });
  }
  const context = await heContext(input.paramSetId);
  // Check the history before generating anything: only listed sites, only earlier epochs, only keys that match their ids.
  const plan = Object.entries(input.history?.plan ?? {});
  for (const [siteId, entries] of plan) {
    if (!recipients.some((r) => r.siteId === siteId)) {
      throw new HeError('HE_SITE_LIST_INVALID', `earlier keys are planned for ${JSON.stringify(siteId)}, which is not on the signed site list`);
    }
    for (const e of entries) {
      const bytes = input.history!.keys.get(e.epoch);
      if (!Number.isSafeInteger(e.epoch) || e.epoch < 1 || e.epoch >= list.epoch) {
        throw new HeError('HE_KEY_CONTEXT_MISMATCH', `earlier key epoch ${e.epoch} is not before epoch ${list.epoch}`);
      }
      if (!bytes || secretKeyId(context.digest, bytes) !== e.keyId) {
        throw new HeError('HE_KEY_CONTEXT_MISMATCH', `the key of epoch ${e.epoch} held here does not match key id ${JSON.stringify(e.keyId)}`);
      }
    }
  }
  const key = generateKeys(context);
  const secret = key.export();
  try {
    const publicParams: HePublicParams = {
      format: 'medfed-he-public-params/1',
      job: list.job,
      epoch: list.epoch,
      paramSetId: context.paramSet.id,
      paramsDigest: context.digest,
      keyId: key.keyId,
      sites: list.sites.map((s) => s.siteId),
      generatingSiteId: input.generatingSiteId,
    };
    const wrappedKeys = new Map<string, string>();
    for (const { siteId, jwk } of recipients) {
      const jwe = await new CompactEncrypt(secret)
        .setProtectedHeader({
          alg: 'ECDH-ES+A256KW', enc: 'A256GCM', typ: WRAPPED_KEY_TYP, kid: siteId,
          job: list.job, epoch: list.epoch, paramSetId: publicParams.paramSetId, paramsDigest: publicParams.paramsDigest, keyId: publicParams.keyId,
        })
        .encrypt(await importJWK(jwk, 'ECDH-ES+A256KW'));
      wrappedKeys.set(siteId, jwe);
    }
    // A joiner's copy of an earlier epoch's key is bound to that epoch, exactly like the original
    // wrap, plus the epoch under whose signed list it was handed over.
    const historyKeys = new Map<string, Record<string, string>>();
    for (const [siteId, entries] of plan) {
      const jwk = recipients.find((r) => r.siteId === siteId)!.jwk;
      const byEpoch: Record<string, string> = {};
      for (const e of entries) {
        byEpoch[String(e.epoch)] = await new CompactEncrypt(input.history!.keys.get(e.epoch)!)
          .setProtectedHeader({
            alg: 'ECDH-ES+A256KW', enc: 'A256GCM', typ: WRAPPED_KEY_TYP, kid: siteId,
            job: list.job, epoch: e.epoch, paramSetId: publicParams.paramSetId, paramsDigest: publicParams.paramsDigest, keyId: e.keyId,
            wrappedForEpoch: list.epoch,
          })
          .encrypt(await importJWK(jwk, 'ECDH-ES+A256KW'));
      }
      historyKeys.set(siteId, byEpoch);
    }
    return { publicParams, wrappedKeys, historyKeys };
  } finally {
    secret.fill(0);
    key.dispose();
  }
}
