import { readFile } from 'node:fs/promises';
import { MedfedError, type PinnedSite } from '@medfed/proto';

/**
 * The out-of-band trust anchor of the key ceremony: for every other site, the thumbprints of its
 * steward key and key-agreement key, as the stewards exchanged them. The coordinator relays keys
 * but cannot add a site of its own: a site missing here is refused.
 */
export async function loadPinnedSites(path: string): Promise<Map<string, PinnedSite>> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new MedfedError('CONFIG_INVALID', `pinned sites file ${path} cannot be read as JSON: ${(err as Error).message}`);
  }
  const sites = (raw as { sites?: unknown }).sites;
  if (!Array.isArray(sites)) throw new MedfedError('CONFIG_INVALID', `pinned sites file ${path} must be {"sites":[{siteId, stewardKeyThumbprint, keyAgreementKeyThumbprint}]}`);
  const out = new Map<string, PinnedSite>();
  for (const s of sites as Record<string, unknown>[]) {
    const ok = typeof s.siteId === 'string' && typeof s.stewardKeyThumbprint === 'string' && typeof s.keyAgreementKeyThumbprint === 'string';
    if (!ok) throw new MedfedError('CONFIG_INVALID', `pinned sites file ${path}: every entry needs siteId, stewardKeyThumbprint, keyAgreementKeyThumbprint`);
    out.set(s.siteId as string, { stewardKeyThumbprint: s.stewardKeyThumbprint as string, keyAgreementKeyThumbprint: s.keyAgreementKeyThumbprint as string });
  }
  return out;
}
