import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { base64url, calculateJwkThumbprint, compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { canonicalBytes } from '../audit/jcs.js';
import { GovernanceError } from './errors.js';

/**
 * The consortium roster: every member site's custody pins and steward public key, optional
 * auditors and the consortium's rules, signed once by every listed site's steward
 * (docs/site-pinning.md, docs/governance.md). A site that imports it pins every listed site; the
 * coordinator that installs it takes from it who decides what (a majority of these stewards, or of
 * these auditors) and how long audit entries are kept at least.
 *
 *   { consortium, version, sites: [{ siteId, stewardKeyThumbprint, keyAgreementKeyThumbprint, stewardPublicJwk }],
 *     auditors?: [{ auditorId, keyThumbprint, publicJwk }], rules?: { auditRetentionDays? }, signatures: [JWS, one per site] }
 *
 * Each signature is a compact JWS with detached payload (RFC 7515 appendix F: `header..signature`),
 * alg Ed25519, typ `medfed-consortium-roster+jws`, kid = the signing site's id, over the RFC 8785
 * canonical JSON of the roster without `signatures`. It verifies only with the steward key the
 * roster itself lists for that site.
 */
export interface RosterSitePin {
  readonly siteId: string;
  readonly stewardKeyThumbprint: string;
  readonly keyAgreementKeyThumbprint: string;
}

export interface RosterSite extends RosterSitePin {
  /** The steward's Ed25519 public key; its RFC 7638 thumbprint is `stewardKeyThumbprint`. */
  readonly stewardPublicJwk: JWK;
}

/** Someone outside the sites whose key the consortium agrees on (e.g. who co-approves releases and purges). */
export interface RosterAuditor {
  readonly auditorId: string;
  readonly keyThumbprint: string;
  readonly publicJwk: JWK;
}

/** The consortium's rules. Optional, and part of the signed bytes: a roster without them is valid. */
export interface RosterRules {
  /** Keep audit entries at least this many days; raises, never lowers, the coordinator's retention. */
  readonly auditRetentionDays?: number;
}

export interface Roster {
  readonly consortium: string;
  readonly version: number;
  readonly sites: readonly RosterSite[];
  readonly auditors?: readonly RosterAuditor[];
  readonly rules?: RosterRules;
  readonly signatures: readonly string[];
}

export const ROSTER_TYP = 'medfed-consortium-roster+jws';
export const ROSTER_CONSORTIUM = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const ROSTER_AUDITOR_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
/** The longest retention a roster may ask for (100 years). */
export const ROSTER_MAX_RETENTION_DAYS = 36_525;
const SITE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;
const ALGORITHMS = ['Ed25519', 'EdDSA'];

function invalid(message: string): never {
  throw new GovernanceError('ROSTER_INVALID', `roster: ${message}`);
}

function exactly(value: unknown, keys: string[], optional: string[] = []): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const present = Object.keys(value);
  return keys.every((k) => present.includes(k)) && present.every((k) => keys.includes(k) || optional.includes(k));
}

/** Refuses a site entry whose id or thumbprints are not in the form pins take. */
export function checkRosterSitePin(pin: RosterSitePin): void {
  if (typeof pin.siteId !== 'string' || !SITE_ID.test(pin.siteId)) {
    invalid(`site id ${JSON.stringify(pin.siteId)} must be 1-63 lowercase letters, digits or "-", starting with a letter or digit`);
  }
  for (const field of ['stewardKeyThumbprint', 'keyAgreementKeyThumbprint'] as const) {
    if (typeof pin[field] !== 'string' || !THUMBPRINT.test(pin[field])) {
      invalid(`site ${pin.siteId}: ${field} must be an RFC 7638 SHA-256 thumbprint (43 base64url characters), not ${JSON.stringify(pin[field])}`);
    }
  }
}

/** A public Ed25519 key as the roster carries it: exactly kty, crv and x; null otherwise. */
export function rosterEd25519Public(jwk: unknown): JWK | null {
  if (!exactly(jwk, ['kty', 'crv', 'x'])) return null;
  const k = jwk as Record<string, unknown>;
  return k.kty === 'OKP' && k.crv === 'Ed25519' && typeof k.x === 'string' && /^[A-Za-z0-9_-]{43}$/.test(k.x) ? { kty: 'OKP', crv: 'Ed25519', x: k.x } : null;
}

/** A roster site's steward key, checked against the thumbprint the roster lists for it. */
export async function rosterStewardKey(site: RosterSite): Promise<JWK> {
  const jwk = rosterEd25519Public(site.stewardPublicJwk);
  if (!jwk) invalid(`site ${site.siteId}: stewardPublicJwk must be a public Ed25519 key {kty, crv, x}`);
  const thumbprint = await calculateJwkThumbprint(jwk, 'sha256');
  if (thumbprint !== site.stewardKeyThumbprint) {
    invalid(`site ${site.siteId}: its stewardPublicJwk has thumbprint ${thumbprint}, the roster lists ${site.stewardKeyThumbprint}`);
  }
  return jwk;
}

/** An auditor entry: a public JWK (no private members) with exactly the listed thumbprint. */
export async function checkRosterAuditorKey(a: RosterAuditor): Promise<void> {
  const k = a.publicJwk as Record<string, unknown> | null;
  if (typeof k !== 'object' || k === null || typeof k.kty !== 'string' || k.d !== undefined || k.p !== undefined || k.k !== undefined) {
    invalid(`auditor ${a.auditorId}: publicJwk must be a public JWK`);
  }
  if (typeof a.keyThumbprint !== 'string' || !THUMBPRINT.test(a.keyThumbprint)) invalid(`auditor ${a.auditorId}: keyThumbprint must be a base64url SHA-256 thumbprint`);
  let thumbprint: string;
  try {
    thumbprint = await calculateJwkThumbprint(a.publicJwk, 'sha256');
  } catch {
    return invalid(`auditor ${a.auditorId}: publicJwk is not a JWK whose thumbprint can be computed`);
  }
  if (thumbprint !== a.keyThumbprint) invalid(`auditor ${a.auditorId}: its publicJwk has thumbprint ${thumbprint}, the roster lists ${a.keyThumbprint}`);
}

function checkRules(rules: unknown): void {
  if (!exactly(rules, [], ['auditRetentionDays'])) invalid('rules must be an object with at most auditRetentionDays');
  const days = (rules as RosterRules).auditRetentionDays;
  if (days !== undefined && (!Number.isSafeInteger(days) || days < 1 || days > ROSTER_MAX_RETENTION_DAYS)) {
    invalid(`rules.auditRetentionDays must be a whole number of days from 1 to ${ROSTER_MAX_RETENTION_DAYS}`);
  }
}

/** Structural check of a roster, including that every embedded key has its listed thumbprint. */
export async function parseRoster(value: unknown): Promise<Roster> {
  if (!exactly(value, ['consortium', 'version', 'sites', 'signatures'], ['auditors', 'rules'])) {
    invalid('must be an object with exactly consortium, version, sites, signatures and optionally auditors and rules');
  }
  const r = value as Roster;
  if (typeof r.consortium !== 'string' || !ROSTER_CONSORTIUM.test(r.consortium)) invalid('consortium must be 1-128 letters, digits, ".", "_" or "-"');
  if (!Number.isSafeInteger(r.version) || r.version < 1) invalid('version must be a positive integer');
  if (!Array.isArray(r.sites)) invalid('sites must be an array');
  const ids = new Set<string>();
  for (const site of r.sites) {
    if (!exactly(site, ['siteId', 'stewardKeyThumbprint', 'keyAgreementKeyThumbprint', 'stewardPublicJwk'])) {
      invalid('each site must have exactly siteId, stewardKeyThumbprint, keyAgreementKeyThumbprint and stewardPublicJwk');
    }
    checkRosterSitePin(site);
    if (ids.has(site.siteId)) invalid(`site ${site.siteId} is listed twice`);
    ids.add(site.siteId);
    await rosterStewardKey(site);
  }
  if (r.auditors !== undefined) {
    if (!Array.isArray(r.auditors)) invalid('auditors must be an array');
    const auditors = new Set<string>();
    for (const a of r.auditors) {
      if (!exactly(a, ['auditorId', 'keyThumbprint', 'publicJwk'])) invalid('each auditor must have exactly auditorId, keyThumbprint and publicJwk');
      if (typeof a.auditorId !== 'string' || !ROSTER_AUDITOR_ID.test(a.auditorId)) invalid(`auditor id ${JSON.stringify(a.auditorId)} must be 1-128 letters, digits, ".", "_", "@" or "-"`);
      if (auditors.has(a.auditorId)) invalid(`auditor ${a.auditorId} is listed twice`);
      auditors.add(a.auditorId);
      await checkRosterAuditorKey(a);
    }
  }
  if (r.rules !== undefined) checkRules(r.rules);
  if (!Array.isArray(r.signatures) || r.signatures.some((s) => typeof s !== 'string')) invalid('signatures must be an array of compact JWS strings');
  return r;
}

/** The bytes every steward signs: RFC 8785 canonical JSON of the roster without `signatures`. */
export function rosterBytes(roster: Roster): Uint8Array {
  const { signatures: _signatures, ...signed } = roster;
  return canonicalBytes(signed);
}

/**
 * The roster's digest: SHA-256 (hex) of its signed bytes. What the coordinator records when it
 * installs a roster, and the `inputSha256` of the approvals that make it replace the current one.
 */
export function rosterDigest(roster: Roster): string {
  return createHash('sha256').update(rosterBytes(roster)).digest('hex');
}

/** The site id a roster signature names (its kid), without verifying it. */
export function rosterSignerOf(jws: string): unknown {
  try {
    return decodeProtectedHeader(jws).kid;
  } catch {
    return undefined;
  }
}

/** Who has signed so far (each signature verified) and who has not. */
export async function rosterSignatures(roster: Roster): Promise<{ signed: string[]; unsigned: string[] }> {
  const bytes = rosterBytes(roster);
  const payload = base64url.encode(bytes);
  const signed = new Set<string>();
  for (const jws of roster.signatures) {
    const parts = jws.split('.');
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(jws) as Record<string, unknown>;
    } catch {
      throw new GovernanceError('ROSTER_SIGNATURE_INVALID', 'a roster signature is not a compact JWS');
    }
    const siteId = header.kid;
    const site = roster.sites.find((s) => s.siteId === siteId);
    if (typeof siteId !== 'string' || !site) throw new GovernanceError('ROSTER_SIGNATURE_INVALID', `a roster signature names ${JSON.stringify(siteId)}, which is not a site on the roster`);
    if (signed.has(siteId)) throw new GovernanceError('ROSTER_SIGNATURE_INVALID', `site ${siteId} signed the roster twice`);
    if (parts.length !== 3 || header.typ !== ROSTER_TYP || !ALGORITHMS.includes(header.alg as string) || header.b64 !== undefined || header.crit !== undefined) {
      throw new GovernanceError('ROSTER_SIGNATURE_INVALID', `the signature of ${siteId} is not an Ed25519 ${ROSTER_TYP}`);
    }
    // Detached payload: the signature must be over these exact bytes, whatever it carried.
    try {
      await compactVerify(`${parts[0]}.${payload}.${parts[2]}`, await importJWK(await rosterStewardKey(site), 'Ed25519'), { algorithms: ALGORITHMS });
    } catch (err) {
      if (err instanceof GovernanceError) throw err;
      throw new GovernanceError('ROSTER_SIGNATURE_INVALID', `the signature of ${siteId} does not verify with the steward key the roster lists for it (${site.stewardKeyThumbprint}) over this roster`);
    }
    signed.add(siteId);
  }
  return { signed: [...signed], unsigned: roster.sites.map((s) => s.siteId).filter((id) => !signed.has(id)) };
}

/** Refuses a roster unless every listed site's steward signed exactly it. */
export async function verifyRoster(roster: Roster): Promise<void> {
  if (roster.sites.length === 0) invalid('lists no sites');
  const { unsigned } = await rosterSignatures(roster);
  if (unsigned.length > 0) {
    throw new GovernanceError('ROSTER_UNSIGNED', `the stewards of [${unsigned.join(', ')}] have not signed the roster of ${roster.consortium} v${roster.version}`);
  }
}

/** Reads and parses a roster file (without verifying its signatures: see verifyRoster). */
export async function readRoster(path: string): Promise<Roster> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new GovernanceError('ROSTER_INVALID', `roster ${path} cannot be read: ${(err as { code?: string }).code ?? (err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GovernanceError('ROSTER_INVALID', `roster ${path} is not valid JSON`);
  }
  return parseRoster(value);
}
