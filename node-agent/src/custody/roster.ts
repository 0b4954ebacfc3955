import { readFile } from 'node:fs/promises';
import { CompactSign, base64url, calculateJwkThumbprint, compactVerify, decodeProtectedHeader, importJWK, type JWK, type KeyObject } from 'jose';
import { canonicalBytes } from '@medfed/proto/audit/index';
import { writeFileAtomic } from '../privacy/ledger/atomic-write.js';
import { CustodyError } from './errors.js';
import { pinFingerprint, type SitePin } from './fingerprint.js';
import { checkPin, pinChanges, THUMBPRINT } from './pinned-sites.js';

/**
 * The consortium roster: every member site's custody pins and steward public key, signed once by
 * every listed site's steward (docs/site-pinning.md). A site that imports it pins every listed site.
 *
 *   { consortium, version, sites: [{ siteId, stewardKeyThumbprint, keyAgreementKeyThumbprint, stewardPublicJwk }],
 *     auditors?: [{ auditorId, keyThumbprint, publicJwk }], signatures: [JWS, one per site] }
 *
 * Each signature is a compact JWS with detached payload (RFC 7515 appendix F: `header..signature`),
 * alg Ed25519, typ `medfed-consortium-roster+jws`, kid = the signing site's id, over the RFC 8785
 * canonical JSON of the roster without `signatures`. It verifies only with the steward key the
 * roster itself lists for that site.
 */
export interface RosterSite extends SitePin {
  /** The steward's Ed25519 public key; its RFC 7638 thumbprint is `stewardKeyThumbprint`. */
  readonly stewardPublicJwk: JWK;
}

/** Someone outside the sites whose key the consortium agrees on (e.g. who co-approves releases). */
export interface RosterAuditor {
  readonly auditorId: string;
  readonly keyThumbprint: string;
  readonly publicJwk: JWK;
}

export interface Roster {
  readonly consortium: string;
  readonly version: number;
  readonly sites: readonly RosterSite[];
  readonly auditors?: readonly RosterAuditor[];
  readonly signatures: readonly string[];
}

export const ROSTER_TYP = 'medfed-consortium-roster+jws';
const CONSORTIUM = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const AUDITOR_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
const ALGORITHMS = ['Ed25519', 'EdDSA'];

function invalid(message: string): never {
  throw new CustodyError('ROSTER_INVALID', `roster: ${message}`);
}

function exactly(value: unknown, keys: string[], optional: string[] = []): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const present = Object.keys(value);
  return keys.every((k) => present.includes(k)) && present.every((k) => keys.includes(k) || optional.includes(k));
}

/** A public Ed25519 key as the roster carries it: exactly kty, crv and x. */
function ed25519Public(jwk: unknown): JWK | null {
  if (!exactly(jwk, ['kty', 'crv', 'x'])) return null;
  const k = jwk as Record<string, unknown>;
  return k.kty === 'OKP' && k.crv === 'Ed25519' && typeof k.x === 'string' && /^[A-Za-z0-9_-]{43}$/.test(k.x) ? { kty: 'OKP', crv: 'Ed25519', x: k.x } : null;
}

/** A roster site's steward key, checked against the thumbprint the roster lists for it. */
async function stewardKeyOf(site: RosterSite): Promise<JWK> {
  const jwk = ed25519Public(site.stewardPublicJwk);
  if (!jwk) invalid(`site ${site.siteId}: stewardPublicJwk must be a public Ed25519 key {kty, crv, x}`);
  const thumbprint = await calculateJwkThumbprint(jwk, 'sha256');
  if (thumbprint !== site.stewardKeyThumbprint) {
    invalid(`site ${site.siteId}: its stewardPublicJwk has thumbprint ${thumbprint}, the roster lists ${site.stewardKeyThumbprint}`);
  }
  return jwk;
}

/** Structural check of a roster, including that every embedded key has its listed thumbprint. */
export async function parseRoster(value: unknown): Promise<Roster> {
  if (!exactly(value, ['consortium', 'version', 'sites', 'signatures'], ['auditors'])) {
    invalid('must be an object with exactly consortium, version, sites, signatures and optionally auditors');
  }
  const r = value as Roster;
  if (typeof r.consortium !== 'string' || !CONSORTIUM.test(r.consortium)) invalid('consortium must be 1-128 letters, digits, ".", "_" or "-"');
  if (!Number.isSafeInteger(r.version) || r.version < 1) invalid('version must be a positive integer');
  if (!Array.isArray(r.sites)) invalid('sites must be an array');
  const ids = new Set<string>();
  for (const site of r.sites) {
    if (!exactly(site, ['siteId', 'stewardKeyThumbprint', 'keyAgreementKeyThumbprint', 'stewardPublicJwk'])) {
      invalid('each site must have exactly siteId, stewardKeyThumbprint, keyAgreementKeyThumbprint and stewardPublicJwk');
    }
    try {
      checkPin(site);
    } catch (err) {
      invalid((err as Error).message);
    }
    if (ids.has(site.siteId)) invalid(`site ${site.siteId} is listed twice`);
    ids.add(site.siteId);
    await stewardKeyOf(site);
  }
  if (r.auditors !== undefined) {
    if (!Array.isArray(r.auditors)) invalid('auditors must be an array');
    const auditors = new Set<string>();
    for (const a of r.auditors) {
      if (!exactly(a, ['auditorId', 'keyThumbprint', 'publicJwk'])) invalid('each auditor must have exactly auditorId, keyThumbprint and publicJwk');
      if (typeof a.auditorId !== 'string' || !AUDITOR_ID.test(a.auditorId)) invalid(`auditor id ${JSON.stringify(a.auditorId)} must be 1-128 letters, digits, ".", "_", "@" or "-"`);
      if (auditors.has(a.auditorId)) invalid(`auditor ${a.auditorId} is listed twice`);
      auditors.add(a.auditorId);
      await checkAuditorKey(a);
    }
  }
  if (!Array.isArray(r.signatures) || r.signatures.some((s) => typeof s !== 'string')) invalid('signatures must be an array of compact JWS strings');
  return r;
}

async function checkAuditorKey(a: RosterAuditor): Promise<void> {
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

/** The bytes every steward signs: RFC 8785 canonical JSON of the roster without `signatures`. */
export function rosterBytes(roster: Roster): Uint8Array {
  const { signatures: _signatures, ...signed } = roster;
  return canonicalBytes(signed);
}

export function newRoster(consortium: string, version = 1): Roster {
  const roster: Roster = { consortium, version, sites: [], signatures: [] };
  if (!CONSORTIUM.test(consortium)) invalid('consortium must be 1-128 letters, digits, ".", "_" or "-"');
  if (!Number.isSafeInteger(version) || version < 1) invalid('version must be a positive integer');
  return roster;
}

export type AddOutcome = 'added' | 'unchanged' | 'replaced';

/**
 * Adds (or with `replace`, re-keys) a site. Any change alters the signed bytes, so the signatures
 * collected so far are dropped: every steward signs the final roster.
 */
export async function addRosterSite(roster: Roster, site: RosterSite, options: { replace?: boolean } = {}): Promise<{ roster: Roster; outcome: AddOutcome; droppedSignatures: number }> {
  const entry: RosterSite = {
    siteId: site.siteId, stewardKeyThumbprint: site.stewardKeyThumbprint, keyAgreementKeyThumbprint: site.keyAgreementKeyThumbprint,
    stewardPublicJwk: ed25519Public(site.stewardPublicJwk) ?? invalid(`site ${site.siteId}: stewardPublicJwk must be a public Ed25519 key {kty, crv, x}`),
  };
  try {
    checkPin(entry);
  } catch (err) {
    invalid((err as Error).message);
  }
  await stewardKeyOf(entry);
  const previous = roster.sites.find((s) => s.siteId === entry.siteId);
  if (previous && pinChanges(previous, entry).length === 0) return { roster, outcome: 'unchanged', droppedSignatures: 0 };
  if (previous && !options.replace) {
    invalid(`site ${entry.siteId} is on the roster with other keys (${pinChanges(previous, entry).map((c) => `${c.field} ${c.from} -> ${c.to}`).join('; ')}); add it with --replace to change them`);
  }
  const sites = previous ? roster.sites.map((s) => (s.siteId === entry.siteId ? entry : s)) : [...roster.sites, entry];
  return { roster: { ...roster, sites, signatures: [] }, outcome: previous ? 'replaced' : 'added', droppedSignatures: roster.signatures.length };
}

/** Adds an auditor by its public key (the roster lists the key's thumbprint beside it). */
export async function addRosterAuditor(roster: Roster, auditor: { auditorId: string; publicJwk: JWK }): Promise<{ roster: Roster; outcome: AddOutcome; droppedSignatures: number }> {
  const keyThumbprint = await calculateJwkThumbprint(auditor.publicJwk, 'sha256').catch(() => invalid(`auditor ${auditor.auditorId}: publicJwk is not a JWK whose thumbprint can be computed`));
  const entry: RosterAuditor = { auditorId: auditor.auditorId, keyThumbprint, publicJwk: auditor.publicJwk };
  if (typeof entry.auditorId !== 'string' || !AUDITOR_ID.test(entry.auditorId)) invalid(`auditor id ${JSON.stringify(entry.auditorId)} must be 1-128 letters, digits, ".", "_", "@" or "-"`);
  await checkAuditorKey(entry);
  const auditors = roster.auditors ?? [];
  const previous = auditors.find((a) => a.auditorId === entry.auditorId);
  if (previous?.keyThumbprint === entry.keyThumbprint) return { roster, outcome: 'unchanged', droppedSignatures: 0 };
  if (previous) invalid(`auditor ${entry.auditorId} is on the roster with key ${previous.keyThumbprint}`);
  return { roster: { ...roster, auditors: [...auditors, entry], signatures: [] }, outcome: 'added', droppedSignatures: roster.signatures.length };
}

/**
 * A roster entry from the JSON `medfed agent identity --json` prints: its steward key must have the
 * stated thumbprint, its key-agreement key (when present) too, and its fingerprint must be theirs.
 */
export async function rosterSiteFromIdentity(doc: unknown): Promise<RosterSite> {
  const d = doc as Record<string, unknown> | null;
  if (typeof d !== 'object' || d === null) invalid('the identity file is not a JSON object (medfed agent identity --json)');
  const site = {
    siteId: d.siteId, stewardKeyThumbprint: d.stewardKeyThumbprint, keyAgreementKeyThumbprint: d.keyAgreementKeyThumbprint, stewardPublicJwk: d.stewardPublicJwk,
  } as RosterSite;
  try {
    checkPin(site);
  } catch (err) {
    invalid(`identity file: ${(err as Error).message}`);
  }
  if (!ed25519Public(site.stewardPublicJwk)) invalid(`identity of ${site.siteId}: stewardPublicJwk must be a public Ed25519 key {kty, crv, x}`);
  await stewardKeyOf({ ...site, stewardPublicJwk: ed25519Public(site.stewardPublicJwk)! });
  if (d.keyAgreementPublicJwk !== undefined) {
    const thumbprint = await calculateJwkThumbprint(d.keyAgreementPublicJwk as JWK, 'sha256').catch(() => null);
    if (thumbprint !== site.keyAgreementKeyThumbprint) invalid(`identity of ${site.siteId}: keyAgreementPublicJwk does not have thumbprint ${site.keyAgreementKeyThumbprint}`);
  }
  if (d.fingerprint !== undefined && d.fingerprint !== pinFingerprint(site)) invalid(`identity of ${site.siteId}: its fingerprint ${String(d.fingerprint)} is not the fingerprint of its pins`);
  return site;
}

/** Refuses a roster that does not list this site with exactly its own keys. */
export function requireSelf(roster: Roster, self: RosterSite): void {
  const listed = roster.sites.find((s) => s.siteId === self.siteId);
  if (!listed) throw new CustodyError('ROSTER_SITE_MISSING', `this site (${self.siteId}) is not on the roster of ${roster.consortium} v${roster.version}`);
  const changes = pinChanges(listed, self);
  if (changes.length > 0) {
    throw new CustodyError('ROSTER_SITE_MISSING', `the roster of ${roster.consortium} lists this site (${self.siteId}) with other keys than its own: ` +
      changes.map((c) => `${c.field} ${c.from}, its own is ${c.to}`).join('; '));
  }
}

/** This site's steward signs the roster (replacing an earlier signature of its own). */
export async function signRoster(roster: Roster, steward: { self: RosterSite; privateKey: KeyObject | Uint8Array }): Promise<Roster> {
  requireSelf(roster, steward.self);
  const jws = await new CompactSign(rosterBytes(roster))
    .setProtectedHeader({ alg: 'Ed25519', typ: ROSTER_TYP, kid: steward.self.siteId })
    .sign(steward.privateKey);
  const [header, , signature] = jws.split('.');
  const others = roster.signatures.filter((s) => signerOf(s) !== steward.self.siteId);
  return { ...roster, signatures: [...others, `${header}..${signature}`] };
}

function signerOf(jws: string): unknown {
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
      throw new CustodyError('ROSTER_SIGNATURE_INVALID', 'a roster signature is not a compact JWS');
    }
    const siteId = header.kid;
    const site = roster.sites.find((s) => s.siteId === siteId);
    if (typeof siteId !== 'string' || !site) throw new CustodyError('ROSTER_SIGNATURE_INVALID', `a roster signature names ${JSON.stringify(siteId)}, which is not a site on the roster`);
    if (signed.has(siteId)) throw new CustodyError('ROSTER_SIGNATURE_INVALID', `site ${siteId} signed the roster twice`);
    if (parts.length !== 3 || header.typ !== ROSTER_TYP || !ALGORITHMS.includes(header.alg as string) || header.b64 !== undefined || header.crit !== undefined) {
      throw new CustodyError('ROSTER_SIGNATURE_INVALID', `the signature of ${siteId} is not an Ed25519 ${ROSTER_TYP}`);
    }
    // Detached payload: the signature must be over these exact bytes, whatever it carried.
    try {
      await compactVerify(`${parts[0]}.${payload}.${parts[2]}`, await importJWK(await stewardKeyOf(site), 'Ed25519'), { algorithms: ALGORITHMS });
    } catch (err) {
      if (err instanceof CustodyError) throw err;
      throw new CustodyError('ROSTER_SIGNATURE_INVALID', `the signature of ${siteId} does not verify with the steward key the roster lists for it (${site.stewardKeyThumbprint}) over this roster`);
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
    throw new CustodyError('ROSTER_UNSIGNED', `the stewards of [${unsigned.join(', ')}] have not signed the roster of ${roster.consortium} v${roster.version}`);
  }
}

export async function readRoster(path: string): Promise<Roster> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CustodyError('ROSTER_INVALID', `roster ${path} cannot be read: ${(err as { code?: string }).code ?? (err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CustodyError('ROSTER_INVALID', `roster ${path} is not valid JSON`);
  }
  return parseRoster(value);
}

/** Replaces the roster file atomically; the roster is public (pins and public keys only). */
export async function writeRoster(path: string, roster: Roster, mode = 0o644): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(roster, null, 2)}\n`, mode);
}
