import { CompactEncrypt, calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import { heContext } from '../context.js';
import { HeError } from '../errors.js';
import { generateKeys } from '../secret-key.js';
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
}

export interface KeyCeremonyResult {
  readonly publicParams: HePublicParams;
  /** Compact JWE (ECDH-ES+A256KW over X25519, A256GCM) of the secret key, per listed site. */
  readonly wrappedKeys: ReadonlyMap<string, string>;
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
    return { publicParams, wrappedKeys };
  } finally {
    secret.fill(0);
    key.dispose();
  }
}
