import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPair } from 'jose';
import { loadPinnedSites, pinnedSitesPath } from '../../src/custody/pinned-sites.js';
import { addRosterSite, newRoster, readRoster, rosterSiteFromIdentity, signRoster, verifyRoster, writeRoster, type Roster } from '../../src/custody/roster.js';
import { importRoster, importedRosterPath } from '../../src/custody/roster-import.js';
import { loadSiteIdentity, type SiteIdentity } from '../../src/custody/site-identity.js';
import type { SiteKeys } from '../../src/custody/site-keys.js';

interface Site {
  readonly stateDir: string;
  readonly identity: SiteIdentity;
  readonly keys: SiteKeys;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(() => 'resolved', (err: { code?: string }) => err.code ?? 'no code');
}

let root: string;
const sites: Record<string, Site> = {};

async function rosterOf(ids: string[], version = 1): Promise<Roster> {
  let roster = newRoster('rare-net', version);
  for (const id of ids) roster = (await addRosterSite(roster, await rosterSiteFromIdentity(sites[id]!.identity))).roster;
  return roster;
}

async function signedBy(roster: Roster, ids: string[]): Promise<Roster> {
  let out = roster;
  for (const id of ids) out = await signRoster(out, { self: sites[id]!.identity, privateKey: sites[id]!.keys.steward.privateKey });
  return out;
}

async function saved(name: string, roster: Roster): Promise<string> {
  const path = join(root, name);
  await writeRoster(path, roster);
  return path;
}

function importAt(id: string, file: string) {
  const site = sites[id]!;
  return importRoster(file, { stateDir: site.stateDir, pinnedSitesPath: pinnedSitesPath(site.stateDir), self: site.identity });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'medfed-roster-'));
  for (const id of ['site-a', 'site-b', 'site-c', 'site-d']) {
    const stateDir = join(root, id);
    sites[id] = { stateDir, ...(await loadSiteIdentity(stateDir, id)) };
  }
});
afterAll(async () => rm(root, { recursive: true, force: true }));

describe('consortium roster', () => {
  it('imports a roster every listed steward signed: pins every site and keeps the roster', async () => {
    const file = await saved('good.json', await signedBy(await rosterOf(['site-a', 'site-b', 'site-c']), ['site-c', 'site-a', 'site-b']));
    await verifyRoster(await readRoster(file));
    const { pins } = await importAt('site-a', file);
    expect(pins.map((p) => [p.siteId, p.outcome])).toEqual([['site-b', 'added'], ['site-c', 'added']]);
    const pinned = await loadPinnedSites(pinnedSitesPath(sites['site-a']!.stateDir));
    for (const id of ['site-a', 'site-b', 'site-c']) {
      expect(pinned.get(id)).toEqual({ stewardKeyThumbprint: sites[id]!.identity.stewardKeyThumbprint, keyAgreementKeyThumbprint: sites[id]!.identity.keyAgreementKeyThumbprint });
    }
    expect((await stat(importedRosterPath(sites['site-a']!.stateDir, 'rare-net'))).mode & 0o777).toBe(0o600);
  });

  it('refuses a roster a listed site has not signed, naming that site', async () => {
    const file = await saved('unsigned.json', await signedBy(await rosterOf(['site-a', 'site-b', 'site-c']), ['site-a', 'site-b']));
    const err = await importAt('site-b', file).catch((e: Error & { code: string }) => e);
    expect(err).toMatchObject({ code: 'ROSTER_UNSIGNED' });
    expect((err as Error).message).toContain('[site-c]');
    await expect(stat(pinnedSitesPath(sites['site-b']!.stateDir))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a signature by a key other than the steward key the roster lists for its site', async () => {
    const roster = await signedBy(await rosterOf(['site-a', 'site-b', 'site-c']), ['site-a', 'site-b']);
    const { privateKey: otherKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forged = await signRoster(roster, { self: sites['site-c']!.identity, privateKey: otherKey });
    expect(await codeOf(importAt('site-a', await saved('forged.json', forged)))).toBe('ROSTER_SIGNATURE_INVALID');
  });

  it('refuses an embedded steward key whose thumbprint is not the listed one', async () => {
    const roster = await signedBy(await rosterOf(['site-a', 'site-b', 'site-c']), ['site-a', 'site-b', 'site-c']);
    const swapped = { ...roster, sites: roster.sites.map((s) => (s.siteId === 'site-c' ? { ...s, stewardPublicJwk: sites['site-d']!.identity.stewardPublicJwk } : s)) };
    expect(await codeOf(importAt('site-a', await saved('swapped.json', swapped)))).toBe('ROSTER_INVALID');
  });

  it('refuses a roster changed after it was signed', async () => {
    const roster = await signedBy(await rosterOf(['site-a', 'site-b', 'site-c']), ['site-a', 'site-b', 'site-c']);
    expect(await codeOf(importAt('site-a', await saved('bumped.json', { ...roster, version: 7 })))).toBe('ROSTER_SIGNATURE_INVALID');
  });

  it('neither signs nor imports a roster that does not list this site with its own keys', async () => {
    const roster = await signedBy(await rosterOf(['site-a', 'site-b', 'site-c']), ['site-a', 'site-b', 'site-c']);
    expect(await codeOf(importAt('site-d', await saved('without-d.json', roster)))).toBe('ROSTER_SITE_MISSING');
    expect(await codeOf(signRoster(roster, { self: sites['site-d']!.identity, privateKey: sites['site-d']!.keys.steward.privateKey }))).toBe('ROSTER_SITE_MISSING');
    const impostor = { ...(await rosterSiteFromIdentity(sites['site-d']!.identity)), siteId: 'site-a' };
    const { roster: rekeyed } = await addRosterSite(await rosterOf(['site-a', 'site-b', 'site-c']), impostor, { replace: true });
    expect(await codeOf(signRoster(rekeyed, { self: sites['site-a']!.identity, privateKey: sites['site-a']!.keys.steward.privateKey }))).toBe('ROSTER_SITE_MISSING');
  });

  it('drops collected signatures when a site is added', async () => {
    const roster = await signedBy(await rosterOf(['site-a', 'site-b']), ['site-a', 'site-b']);
    const { roster: grown, droppedSignatures } = await addRosterSite(roster, await rosterSiteFromIdentity(sites['site-c']!.identity));
    expect(droppedSignatures).toBe(2);
    expect(grown.signatures).toEqual([]);
  });

  it('unpins a site a newer roster drops, and refuses an older roster after it', async () => {
    const d = sites['site-d']!;
    const v1 = await saved('v1.json', await signedBy(await rosterOf(['site-a', 'site-b', 'site-d']), ['site-a', 'site-b', 'site-d']));
    const v2 = await saved('v2.json', await signedBy(await rosterOf(['site-c', 'site-d', 'site-b'], 2), ['site-b', 'site-c', 'site-d']));
    await importAt('site-d', v1);
    const { pins } = await importAt('site-d', v2);
    expect(pins.find((p) => p.siteId === 'site-a')?.outcome).toBe('removed');
    expect([...(await loadPinnedSites(pinnedSitesPath(d.stateDir))).keys()].sort()).toEqual(['site-b', 'site-c', 'site-d']);
    expect(await codeOf(importAt('site-d', v1))).toBe('ROSTER_OUTDATED');
  });
});
