import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { listPins, loadPinnedSites, pinSite, pinnedSitesPath } from '../../src/custody/pinned-sites.js';

const dirs: string[] = [];
async function pinsFile(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'medfed-pins-'));
  dirs.push(d);
  return pinnedSitesPath(d);
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(() => 'resolved', (err: { code?: string }) => err.code ?? 'no code');
}

const self = { siteId: 'site-a', stewardKeyThumbprint: 'A'.repeat(43), keyAgreementKeyThumbprint: 'a'.repeat(43) };
const siteB = { siteId: 'site-b', stewardKeyThumbprint: 'B'.repeat(43), keyAgreementKeyThumbprint: 'b'.repeat(43) };

describe('pinning a peer site (medfed agent pin-site)', () => {
  it('defaults to <stateDir>/pinned-sites.json and uses custody.pinnedSites when configured', () => {
    expect(pinnedSitesPath('/var/medfed')).toBe('/var/medfed/pinned-sites.json');
    expect(pinnedSitesPath('/var/medfed', '/etc/medfed/pins.json')).toBe('/etc/medfed/pins.json');
  });

  it('pins a site, writes the file with mode 0600 and pins this site from its own keys', async () => {
    const path = await pinsFile();
    expect(await pinSite(path, siteB, { self })).toEqual({ siteId: 'site-b', outcome: 'added', changes: [] });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const pins = await loadPinnedSites(path);
    expect(pins.get('site-b')).toEqual({ stewardKeyThumbprint: siteB.stewardKeyThumbprint, keyAgreementKeyThumbprint: siteB.keyAgreementKeyThumbprint });
    expect(pins.get('site-a')).toEqual({ stewardKeyThumbprint: self.stewardKeyThumbprint, keyAgreementKeyThumbprint: self.keyAgreementKeyThumbprint });
    expect((await listPins(path, self)).map((p) => [p.siteId, p.source])).toEqual([['site-a', 'self'], ['site-b', 'pin-site']]);
  });

  it('refuses a malformed site id or thumbprint', async () => {
    const path = await pinsFile();
    expect(await codeOf(pinSite(path, { ...siteB, stewardKeyThumbprint: 'B'.repeat(42) }, { self }))).toBe('PIN_INVALID');
    expect(await codeOf(pinSite(path, { ...siteB, keyAgreementKeyThumbprint: `${'b'.repeat(42)}=` }, { self }))).toBe('PIN_INVALID');
    expect(await codeOf(pinSite(path, { ...siteB, siteId: 'Site B' }, { self }))).toBe('PIN_INVALID');
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('re-pins with other thumbprints only with replace, and says what changed', async () => {
    const path = await pinsFile();
    await pinSite(path, siteB, { self });
    expect(await pinSite(path, siteB, { self })).toMatchObject({ outcome: 'unchanged' });
    const rekeyed = { ...siteB, keyAgreementKeyThumbprint: 'c'.repeat(43) };
    const refused = await pinSite(path, rekeyed, { self }).catch((err: Error & { code: string }) => err);
    expect(refused).toMatchObject({ code: 'PIN_CONFLICT' });
    expect((refused as Error).message).toContain(`keyAgreementKeyThumbprint ${'b'.repeat(43)} -> ${'c'.repeat(43)}`);
    expect((await loadPinnedSites(path)).get('site-b')?.keyAgreementKeyThumbprint).toBe(siteB.keyAgreementKeyThumbprint);

    expect(await pinSite(path, rekeyed, { self, replace: true })).toEqual({
      siteId: 'site-b', outcome: 'replaced', changes: [{ field: 'keyAgreementKeyThumbprint', from: 'b'.repeat(43), to: 'c'.repeat(43) }],
    });
    expect((await loadPinnedSites(path)).get('site-b')?.keyAgreementKeyThumbprint).toBe('c'.repeat(43));
  });

  it('refuses to pin this site with keys other than its own', async () => {
    const path = await pinsFile();
    expect(await codeOf(pinSite(path, { ...self, stewardKeyThumbprint: 'Z'.repeat(43) }, { self, replace: true }))).toBe('PIN_SELF_MISMATCH');
  });

  it('keeps other members of an existing file, and reads a missing default file as no pins', async () => {
    const path = await pinsFile();
    expect((await loadPinnedSites(path, { optional: true, self })).size).toBe(1);
    expect(await codeOf(loadPinnedSites(path))).toBe('CONFIG_INVALID');
    await writeFile(path, JSON.stringify({ note: 'exchanged at the kick-off meeting', sites: [] }), { mode: 0o600 });
    await pinSite(path, siteB, { self });
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ note: 'exchanged at the kick-off meeting' });
  });
});
