import canonicalize from 'canonicalize';
import { CompactSign, calculateJwkThumbprint, compactVerify, decodeProtectedHeader, importJWK, type JWK, type KeyInput } from 'jose';
import { HeError, type HeErrorCode } from '../errors.js';

/** Encrypted aggregation needs at least this many sites: with two, each learns the other's update. */
export const MIN_ENCRYPTED_SITES = 3;

export interface SiteListEntry {
  readonly siteId: string;
  /** RFC 7638 SHA-256 thumbprint of the site's X25519 key-agreement public JWK. */
  readonly keyAgreementJwkThumbprint: string;
}

/** Which sites receive the job's HE key in this epoch. A new epoch starts when a site joins or leaves. */
export interface SiteList {
  readonly job: string;
  readonly epoch: number;
  readonly sites: readonly SiteListEntry[];
}

/** The list and one compact JWS per participating site's steward, all over the same canonical bytes. */
export interface SignedSiteList {
  readonly list: SiteList;
  readonly signatures: readonly string[];
}

/** Fingerprints exchanged out of band at enrollment: the trust anchor of the ceremony. */
export interface PinnedSite {
  /** Thumbprint of the steward's Ed25519 signing JWK. */
  readonly stewardKeyThumbprint: string;
  readonly keyAgreementKeyThumbprint: string;
}

export type PinnedSites = ReadonlyMap<string, PinnedSite>;

export interface StewardSigner {
  readonly siteId: string;
  /** The steward's Ed25519 private key. */
  readonly privateKey: KeyInput;
  /** Its public JWK, embedded in the signature so verifiers can match it to the pinned thumbprint. */
  readonly publicJwk: JWK;
}

export const SITE_LIST_TYP = 'medfed-he-site-list+jws';
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

function fail(code: HeErrorCode, message: string): never {
  throw new HeError(code, message);
}

/** Structural check of a list: fields, types, distinct sites (no trust decisions yet). */
export function checkSiteList(list: unknown): asserts list is SiteList {
  const bad = (message: string): never => fail('HE_SITE_LIST_INVALID', `site list: ${message}`);
  if (typeof list !== 'object' || list === null || Array.isArray(list)) bad('not an object');
  const l = list as Record<string, unknown>;
  if (Object.keys(l).sort().join() !== 'epoch,job,sites') bad('fields must be exactly job, epoch, sites');
  if (typeof l.job !== 'string' || l.job.length === 0) bad('job must be a non-empty string');
  if (!Number.isSafeInteger(l.epoch) || (l.epoch as number) < 0) bad('epoch must be a non-negative integer');
  if (!Array.isArray(l.sites)) bad('sites must be an array');
  const ids = new Set<string>();
  for (const entry of l.sites as unknown[]) {
    const e = entry as Record<string, unknown>;
    if (typeof e !== 'object' || e === null || Object.keys(e).sort().join() !== 'keyAgreementJwkThumbprint,siteId') bad('each site must have exactly siteId and keyAgreementJwkThumbprint');
    if (typeof e.siteId !== 'string' || e.siteId.length === 0 || e.siteId.length > 200) bad('siteId must be a non-empty string of at most 200 characters');
    if (typeof e.keyAgreementJwkThumbprint !== 'string' || !THUMBPRINT.test(e.keyAgreementJwkThumbprint)) bad(`site ${JSON.stringify(e.siteId)}: keyAgreementJwkThumbprint must be a base64url SHA-256 thumbprint`);
    if (ids.has(e.siteId as string)) bad(`site ${JSON.stringify(e.siteId)} is listed twice`);
    ids.add(e.siteId as string);
  }
}

/** The bytes every steward signs: RFC 8785 canonical JSON of the list. */
export function siteListBytes(list: SiteList): Uint8Array {
  checkSiteList(list);
  return new TextEncoder().encode(canonicalize({ job: list.job, epoch: list.epoch, sites: list.sites.map((s) => ({ siteId: s.siteId, keyAgreementJwkThumbprint: s.keyAgreementJwkThumbprint })) })!);
}

function publicOkp(jwk: unknown, crv: 'Ed25519' | 'X25519'): jwk is JWK {
  if (typeof jwk !== 'object' || jwk === null) return false;
  const k = jwk as Record<string, unknown>;
  return k.kty === 'OKP' && k.crv === crv && typeof k.x === 'string' && k.d === undefined;
}

/** A steward's signature over the list (compact JWS, Ed25519, kid = site id, public JWK embedded). */
export async function signSiteList(list: SiteList, steward: StewardSigner): Promise<string> {
  if (!list.sites.some((s) => s.siteId === steward.siteId)) fail('HE_SITE_LIST_INVALID', `steward of ${JSON.stringify(steward.siteId)} may only sign a list that includes its site`);
  if (!publicOkp(steward.publicJwk, 'Ed25519')) fail('HE_SITE_LIST_INVALID', 'steward publicJwk must be a public Ed25519 OKP key');
  const { kty, crv, x } = steward.publicJwk;
  return new CompactSign(siteListBytes(list))
    .setProtectedHeader({ alg: 'Ed25519', typ: SITE_LIST_TYP, kid: steward.siteId, jwk: { kty: kty!, crv: crv!, x: x! } })
    .sign(steward.privateKey);
}

export interface SiteListTrust {
  readonly job: string;
  readonly epoch: number;
  readonly pinned: PinnedSites;
}

/**
 * Verifies a signed site list for a job and epoch against the pinned fingerprints: every listed
 * site must be pinned with the listed key-agreement key, and its steward (pinned signing key)
 * must have signed exactly these bytes. Anything else is refused; returns the verified list.
 */
export async function verifySiteList(statement: SignedSiteList, trust: SiteListTrust): Promise<SiteList> {
  if (typeof statement !== 'object' || statement === null || !Array.isArray(statement.signatures)) fail('HE_SITE_LIST_INVALID', 'statement must be { list, signatures[] }');
  const bytes = siteListBytes(statement.list);
  const list = statement.list;
  if (list.job !== trust.job || list.epoch !== trust.epoch) {
    fail('HE_KEY_CONTEXT_MISMATCH', `site list is for job ${JSON.stringify(list.job)} epoch ${list.epoch}; expected job ${JSON.stringify(trust.job)} epoch ${trust.epoch}`);
  }
  if (list.sites.length < MIN_ENCRYPTED_SITES) fail('HE_TOO_FEW_SITES', `the site list has ${list.sites.length} sites; encrypted jobs need at least ${MIN_ENCRYPTED_SITES}`);
  for (const site of list.sites) {
    const pin = trust.pinned.get(site.siteId);
    if (pin === undefined) fail('HE_SITE_UNPINNED', `site ${JSON.stringify(site.siteId)} has no fingerprints pinned at enrollment; enroll it before listing it`);
    if (pin.keyAgreementKeyThumbprint !== site.keyAgreementJwkThumbprint) {
      fail('HE_SITE_UNPINNED', `site ${JSON.stringify(site.siteId)} is listed with key-agreement key ${site.keyAgreementJwkThumbprint}, but ${pin.keyAgreementKeyThumbprint} is pinned`);
    }
  }
  const signed = new Set<string>();
  for (const jws of statement.signatures) {
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(jws) as Record<string, unknown>;
    } catch {
      return fail('HE_SITE_LIST_INVALID', 'a signature is not a compact JWS');
    }
    const siteId = header.kid;
    if (typeof siteId !== 'string' || !list.sites.some((s) => s.siteId === siteId)) {
      fail('HE_SITE_LIST_INVALID', `a signature names ${JSON.stringify(siteId)}, which is not a listed site`);
    }
    if (signed.has(siteId)) fail('HE_SITE_LIST_INVALID', `site ${JSON.stringify(siteId)} signed twice`);
    if (header.typ !== SITE_LIST_TYP || (header.alg !== 'Ed25519' && header.alg !== 'EdDSA') || !publicOkp(header.jwk, 'Ed25519')) {
      fail('HE_SITE_LIST_SIGNATURE_INVALID', `signature of ${JSON.stringify(siteId)} is not an Ed25519 ${SITE_LIST_TYP} with an embedded public key`);
    }
    const thumbprint = await calculateJwkThumbprint(header.jwk as JWK, 'sha256');
    if (thumbprint !== trust.pinned.get(siteId)!.stewardKeyThumbprint) {
      fail('HE_SITE_LIST_SIGNATURE_INVALID', `signature of ${JSON.stringify(siteId)} is by key ${thumbprint}, not by the steward key pinned for that site`);
    }
    let payload: Uint8Array;
    try {
      const key = await importJWK(header.jwk as JWK, 'Ed25519');
      ({ payload } = await compactVerify(jws, key, { algorithms: ['Ed25519', 'EdDSA'] }));
    } catch {
      return fail('HE_SITE_LIST_SIGNATURE_INVALID', `signature of ${JSON.stringify(siteId)} does not verify`);
    }
    if (payload.byteLength !== bytes.byteLength || !payload.every((b, i) => b === bytes[i])) {
      fail('HE_SITE_LIST_SIGNATURE_INVALID', `steward of ${JSON.stringify(siteId)} signed a different site list`);
    }
    signed.add(siteId);
  }
  const unsigned = list.sites.filter((s) => !signed.has(s.siteId)).map((s) => s.siteId);
  if (unsigned.length > 0) fail('HE_SITE_LIST_UNSIGNED', `the stewards of [${unsigned.join(', ')}] have not signed this site list`);
  return list;
}
