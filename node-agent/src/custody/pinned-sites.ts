import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { MedfedError, type PinnedSite } from '@medfed/proto';
import { writeFileAtomic } from '../privacy/ledger/atomic-write.js';
import { withFileLock } from '../privacy/ledger/file-lock.js';
import { CustodyError } from './errors.js';
import type { SitePin } from './fingerprint.js';

/**
 * The out-of-band trust anchor of the key ceremony: for every site, the thumbprints of its
 * steward key and key-agreement key, as the stewards exchanged them. The coordinator relays keys
 * but cannot add a site of its own: a site missing here is refused.
 *
 * File: `{"sites": [{siteId, stewardKeyThumbprint, keyAgreementKeyThumbprint, source?, consortium?,
 * rosterVersion?, pinnedAt?}]}` (other top-level members are kept as they are), mode 0600, replaced
 * atomically under a lock file so the agent and the steward's commands never lose each other's writes.
 */
export const PINNED_SITES_FILE = 'pinned-sites.json';
export const SITE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** RFC 7638 SHA-256 thumbprint, base64url without padding. */
export const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

/** How a pin got into the file: this site's own keys, `medfed agent pin-site`, or an imported roster. */
export type PinSource = 'self' | 'pin-site' | 'roster';

export interface PinnedEntry extends SitePin {
  readonly source?: PinSource;
  readonly consortium?: string;
  readonly rosterVersion?: number;
  readonly pinnedAt?: string;
}

export interface PinChange {
  readonly field: 'stewardKeyThumbprint' | 'keyAgreementKeyThumbprint';
  readonly from: string;
  readonly to: string;
}

export interface PinOutcome {
  readonly siteId: string;
  readonly outcome: 'added' | 'unchanged' | 'replaced' | 'removed';
  readonly changes: readonly PinChange[];
}

interface PinsFile {
  readonly rest: Record<string, unknown>;
  readonly sites: Map<string, PinnedEntry>;
}

/** Where the pins live: `custody.pinnedSites` when configured, else `<stateDir>/pinned-sites.json`. */
export function pinnedSitesPath(stateDir: string, configured?: string): string {
  return configured !== undefined ? resolve(configured) : join(resolve(stateDir), PINNED_SITES_FILE);
}

/** Refuses a pin whose site id or thumbprints are not in the accepted form. */
export function checkPin(pin: SitePin): void {
  if (typeof pin.siteId !== 'string' || !SITE_ID.test(pin.siteId)) {
    throw new CustodyError('PIN_INVALID', `site id ${JSON.stringify(pin.siteId)} must be 1-63 lowercase letters, digits or "-", starting with a letter or digit`);
  }
  for (const field of ['stewardKeyThumbprint', 'keyAgreementKeyThumbprint'] as const) {
    if (typeof pin[field] !== 'string' || !THUMBPRINT.test(pin[field])) {
      throw new CustodyError('PIN_INVALID', `site ${pin.siteId}: ${field} must be an RFC 7638 SHA-256 thumbprint (43 base64url characters), not ${JSON.stringify(pin[field])}`);
    }
  }
}

/** What differs between two pins of one site. */
export function pinChanges(from: SitePin, to: SitePin): PinChange[] {
  return (['stewardKeyThumbprint', 'keyAgreementKeyThumbprint'] as const)
    .filter((field) => from[field] !== to[field])
    .map((field) => ({ field, from: from[field], to: to[field] }));
}

async function readPins(path: string, optional: boolean): Promise<PinsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (optional && (err as { code?: unknown }).code === 'ENOENT') return { rest: {}, sites: new Map() };
    throw new MedfedError('CONFIG_INVALID', `pinned sites file ${path} cannot be read: ${(err as { code?: string }).code ?? (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new MedfedError('CONFIG_INVALID', `pinned sites file ${path} cannot be read as JSON: ${(err as Error).message}`);
  }
  const { sites, ...rest } = (typeof raw === 'object' && raw !== null ? raw : {}) as { sites?: unknown };
  if (!Array.isArray(sites)) throw new MedfedError('CONFIG_INVALID', `pinned sites file ${path} must be {"sites":[{siteId, stewardKeyThumbprint, keyAgreementKeyThumbprint}]}`);
  const out = new Map<string, PinnedEntry>();
  for (const s of sites as Record<string, unknown>[]) {
    const ok = typeof s === 'object' && s !== null && typeof s.siteId === 'string' && typeof s.stewardKeyThumbprint === 'string' && typeof s.keyAgreementKeyThumbprint === 'string';
    if (!ok) throw new MedfedError('CONFIG_INVALID', `pinned sites file ${path}: every entry needs siteId, stewardKeyThumbprint, keyAgreementKeyThumbprint`);
    if (out.has(s.siteId as string)) throw new MedfedError('CONFIG_INVALID', `pinned sites file ${path}: site ${String(s.siteId)} is pinned twice`);
    out.set(s.siteId as string, s as unknown as PinnedEntry);
  }
  return { rest, sites: out };
}

/**
 * The pins the key ceremony checks against, this site's own entry always taken from its own keys.
 * `optional`: a missing file is no pins yet (the default path); a configured file must exist.
 */
export async function loadPinnedSites(path: string, options: { self?: SitePin; optional?: boolean } = {}): Promise<Map<string, PinnedSite>> {
  const { sites } = await readPins(path, options.optional ?? false);
  const out = new Map<string, PinnedSite>();
  for (const [id, s] of sites) out.set(id, { stewardKeyThumbprint: s.stewardKeyThumbprint, keyAgreementKeyThumbprint: s.keyAgreementKeyThumbprint });
  if (options.self) out.set(options.self.siteId, { stewardKeyThumbprint: options.self.stewardKeyThumbprint, keyAgreementKeyThumbprint: options.self.keyAgreementKeyThumbprint });
  return out;
}

/** Every pin in the file, this site's own entry (from its keys) first. */
export async function listPins(path: string, self: SitePin): Promise<PinnedEntry[]> {
  const { sites } = await readPins(path, true);
  sites.delete(self.siteId);
  return [{ ...pick(self), source: 'self' }, ...[...sites.values()].sort((a, b) => a.siteId.localeCompare(b.siteId))];
}

/**
 * Read, change, write under a lock. This site's own entry is written from its own keys every time,
 * so the file always pins it as it is.
 */
async function updatePins<T>(path: string, self: SitePin, change: (sites: Map<string, PinnedEntry>) => T, now: Date): Promise<T> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  return withFileLock(`${path}.lock`, async () => {
    const file = await readPins(path, true);
    const result = change(file.sites);
    const previous = file.sites.get(self.siteId);
    if (!previous || pinChanges(previous, self).length > 0 || previous.source !== 'self') {
      file.sites.set(self.siteId, { ...pick(self), source: 'self', pinnedAt: now.toISOString() });
    }
    const sites = [...file.sites.values()].sort((a, b) => a.siteId.localeCompare(b.siteId));
    await writeFileAtomic(path, `${JSON.stringify({ ...file.rest, sites }, null, 2)}\n`, 0o600);
    return result;
  });
}

function pick(pin: SitePin): SitePin {
  return { siteId: pin.siteId, stewardKeyThumbprint: pin.stewardKeyThumbprint, keyAgreementKeyThumbprint: pin.keyAgreementKeyThumbprint };
}

function refuseOtherKeysForSelf(pin: SitePin, self: SitePin): void {
  if (pin.siteId !== self.siteId) return;
  const changes = pinChanges(self, pin);
  if (changes.length > 0) {
    throw new CustodyError('PIN_SELF_MISMATCH', `${pin.siteId} is this site; its own ${changes.map((c) => `${c.field} is ${c.from}, not ${c.to}`).join('; ')}`);
  }
}

export interface PinSiteOptions {
  /** This site's own pins, from its keys. */
  readonly self: SitePin;
  /** Re-pin a site already pinned with other thumbprints. */
  readonly replace?: boolean;
  readonly now?: Date;
}

/** `medfed agent pin-site`: pins one peer; a different re-pin needs `replace` and says what changed. */
export async function pinSite(path: string, pin: SitePin, options: PinSiteOptions): Promise<PinOutcome> {
  checkPin(pin);
  refuseOtherKeysForSelf(pin, options.self);
  const now = options.now ?? new Date();
  return updatePins(path, options.self, (sites) => {
    const previous = sites.get(pin.siteId);
    const changes = previous ? pinChanges(previous, pin) : [];
    if (pin.siteId === options.self.siteId) return { siteId: pin.siteId, outcome: previous && changes.length === 0 ? 'unchanged' : 'added', changes: [] };
    if (previous && changes.length === 0) return { siteId: pin.siteId, outcome: 'unchanged', changes };
    if (previous && !options.replace) {
      throw new CustodyError('PIN_CONFLICT', `site ${pin.siteId} is pinned with other keys (${changes.map((c) => `${c.field} ${c.from} -> ${c.to}`).join('; ')}); ` +
        'confirm the new thumbprints with its steward, then pin again with --replace');
    }
    sites.set(pin.siteId, { ...pick(pin), source: 'pin-site', pinnedAt: now.toISOString() });
    return { siteId: pin.siteId, outcome: previous ? 'replaced' : 'added', changes };
  }, now);
}

export interface RosterPins {
  readonly consortium: string;
  readonly version: number;
  readonly sites: readonly SitePin[];
}

/**
 * Pins every site of a verified roster (the caller verified it): a site pinned otherwise is
 * re-pinned as the roster says, and a site an earlier version of the same consortium's roster
 * pinned but this one no longer lists is unpinned.
 */
export async function pinRoster(path: string, roster: RosterPins, options: { self: SitePin; now?: Date }): Promise<PinOutcome[]> {
  for (const pin of roster.sites) {
    checkPin(pin);
    refuseOtherKeysForSelf(pin, options.self);
  }
  const now = options.now ?? new Date();
  return updatePins(path, options.self, (sites) => {
    const outcomes: PinOutcome[] = [];
    const listed = new Set(roster.sites.map((s) => s.siteId));
    for (const [id, entry] of sites) {
      if (entry.source === 'roster' && entry.consortium === roster.consortium && !listed.has(id)) {
        sites.delete(id);
        outcomes.push({ siteId: id, outcome: 'removed', changes: [] });
      }
    }
    for (const pin of roster.sites) {
      if (pin.siteId === options.self.siteId) continue;
      const previous = sites.get(pin.siteId);
      const changes = previous ? pinChanges(previous, pin) : [];
      sites.set(pin.siteId, { ...pick(pin), source: 'roster', consortium: roster.consortium, rosterVersion: roster.version, pinnedAt: now.toISOString() });
      outcomes.push({ siteId: pin.siteId, outcome: !previous ? 'added' : changes.length > 0 ? 'replaced' : 'unchanged', changes });
    }
    return outcomes;
  }, now);
}
