import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { JWK } from 'jose';
import { pinFingerprint, type SitePin } from './fingerprint.js';
import { ensureSiteKeys, pinsOf, type SiteKeys } from './site-keys.js';

/**
 * What `medfed agent identity --json` prints and what a site hands the consortium's coordinator
 * for the roster: its pins, their fingerprint, and the public halves of both custody keys.
 */
export interface SiteIdentity extends SitePin {
  readonly fingerprint: string;
  readonly stewardPublicJwk: JWK;
  readonly keyAgreementPublicJwk: JWK;
}

/** This site's custody keys, created (as the agent does at start) when the agent never ran. */
export async function loadSiteIdentity(stateDir: string, siteId: string): Promise<{ identity: SiteIdentity; keys: SiteKeys }> {
  const dir = resolve(stateDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keys = await ensureSiteKeys(dir);
  return { identity: identityOf(siteId, keys), keys };
}

export function identityOf(siteId: string, keys: SiteKeys): SiteIdentity {
  const pin = pinsOf(siteId, keys);
  return { ...pin, fingerprint: pinFingerprint(pin), stewardPublicJwk: keys.steward.publicJwk, keyAgreementPublicJwk: keys.keyAgreement.publicJwk };
}
