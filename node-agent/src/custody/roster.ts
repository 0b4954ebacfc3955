import { CompactSign, calculateJwkThumbprint, type JWK, type KeyObject } from 'jose';
import {
  GovernanceError, ROSTER_AUDITOR_ID, ROSTER_CONSORTIUM, checkRosterAuditorKey, parseRoster, rosterBytes, rosterEd25519Public, rosterSignerOf, rosterStewardKey,
  ROSTER_TYP, type Roster, type RosterAuditor, type RosterRules, type RosterSite,
} from '@medfed/proto/governance/index';
import { canonicalJson } from '@medfed/proto/audit/index';
import { writeFileAtomic } from '../privacy/ledger/atomic-write.js';
import { pinFingerprint } from './fingerprint.js';
import { checkPin, pinChanges } from './pinned-sites.js';

/**
 * The site's side of the consortium roster (docs/site-pinning.md): start one, add sites and
 * auditors, sign it with this site's steward key, check that it lists this site with its own keys,
 * and keep it as a file. The format, its canonical bytes and the verification of its signatures
 * live in @medfed/proto/governance (roster.ts), shared with the coordinator, which installs the
 * same roster as the consortium's rule (docs/governance.md); they are re-exported here.
 */
export {
  ROSTER_TYP, parseRoster, readRoster, rosterBytes, rosterDigest, rosterSignatures, verifyRoster,
  type Roster, type RosterAuditor, type RosterRules, type RosterSite,
} from '@medfed/proto/governance/index';

function invalid(message: string): never {
  throw new GovernanceError('ROSTER_INVALID', `roster: ${message}`);
}

export function newRoster(consortium: string, version = 1): Roster {
  const roster: Roster = { consortium, version, sites: [], signatures: [] };
  if (!ROSTER_CONSORTIUM.test(consortium)) invalid('consortium must be 1-128 letters, digits, ".", "_" or "-"');
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
    stewardPublicJwk: rosterEd25519Public(site.stewardPublicJwk) ?? invalid(`site ${site.siteId}: stewardPublicJwk must be a public Ed25519 key {kty, crv, x}`),
  };
  try {
    checkPin(entry);
  } catch (err) {
    invalid((err as Error).message);
  }
  await rosterStewardKey(entry);
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
  if (typeof entry.auditorId !== 'string' || !ROSTER_AUDITOR_ID.test(entry.auditorId)) invalid(`auditor id ${JSON.stringify(entry.auditorId)} must be 1-128 letters, digits, ".", "_", "@" or "-"`);
  await checkRosterAuditorKey(entry);
  const auditors = roster.auditors ?? [];
  const previous = auditors.find((a) => a.auditorId === entry.auditorId);
  if (previous?.keyThumbprint === entry.keyThumbprint) return { roster, outcome: 'unchanged', droppedSignatures: 0 };
  if (previous) invalid(`auditor ${entry.auditorId} is on the roster with key ${previous.keyThumbprint}`);
  return { roster: { ...roster, auditors: [...auditors, entry], signatures: [] }, outcome: 'added', droppedSignatures: roster.signatures.length };
}

/**
 * Sets the consortium's rules (e.g. a longer audit retention than the coordinator's); `{}` removes
 * them. Like any change it alters the signed bytes, so the signatures collected so far are dropped.
 */
export async function setRosterRules(roster: Roster, rules: RosterRules): Promise<{ roster: Roster; outcome: AddOutcome; droppedSignatures: number }> {
  const { rules: previous, ...rest } = roster;
  const next: Roster = Object.keys(rules).length === 0 ? rest : { ...rest, rules: { ...rules } };
  await parseRoster({ ...next, signatures: [] });
  if (canonicalJson(previous ?? {}) === canonicalJson(rules)) return { roster, outcome: 'unchanged', droppedSignatures: 0 };
  return { roster: { ...next, signatures: [] }, outcome: previous ? 'replaced' : 'added', droppedSignatures: roster.signatures.length };
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
  if (!rosterEd25519Public(site.stewardPublicJwk)) invalid(`identity of ${site.siteId}: stewardPublicJwk must be a public Ed25519 key {kty, crv, x}`);
  await rosterStewardKey({ ...site, stewardPublicJwk: rosterEd25519Public(site.stewardPublicJwk)! });
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
  if (!listed) throw new GovernanceError('ROSTER_SITE_MISSING', `this site (${self.siteId}) is not on the roster of ${roster.consortium} v${roster.version}`);
  const changes = pinChanges(listed, self);
  if (changes.length > 0) {
    throw new GovernanceError('ROSTER_SITE_MISSING', `the roster of ${roster.consortium} lists this site (${self.siteId}) with other keys than its own: ` +
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
  const others = roster.signatures.filter((s) => rosterSignerOf(s) !== steward.self.siteId);
  return { ...roster, signatures: [...others, `${header}..${signature}`] };
}

/** Replaces the roster file atomically; the roster is public (pins and public keys only). */
export async function writeRoster(path: string, roster: Roster, mode = 0o644): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(roster, null, 2)}\n`, mode);
}
