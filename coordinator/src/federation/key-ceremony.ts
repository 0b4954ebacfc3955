import { calculateJwkThumbprint, decodeProtectedHeader, type JWK } from 'jose';
import { getParamSet, laneLimit, type EncryptedSettingsForJob, type HePublicParams, type JobSpec, type SiteList } from '@medfed/proto';
import type { Queryable } from '../storage/db.js';
import { FederationError } from './errors.js';
import { participantsOf } from './participants.js';
import type { SiteRow } from './rows.js';

/**
 * The coordinator's part of a job's key ceremony: it proposes the site list, collects one steward
 * signature per site, hands the signed list and the relayed key-agreement keys to one generating
 * site, and stores what comes back (public parameters and one wrapped key per site). It verifies
 * shapes, never trust: sites verify the signatures against keys pinned out of band.
 */
export interface JobKeysRow {
  job_id: string;
  epoch: number;
  status: 'signing' | 'generating' | 'ready';
  param_set: string;
  site_list: SiteList;
  signatures: Record<string, string>;
  generating_site: string;
  key_agreement_keys: Record<string, JWK>;
  public_params: HePublicParams | null;
  wrapped_keys: Record<string, string> | null;
}

export type KeyTask =
  | { phase: 'sign'; siteList: SiteList }
  | { phase: 'generate'; statement: { list: SiteList; signatures: string[] }; keyAgreementKeys: Record<string, JWK>; paramSet: string };

/** The most precise fixed-point encoding the parameter set's lanes carry for this clip and number of sites. */
export function fracBitsFor(paramSet: string, clipNorm: number, maxSites: number): number {
  const set = getParamSet(paramSet);
  const best = Math.floor(Math.log2(laneLimit(set) / (maxSites * clipNorm)));
  if (best < 8) {
    throw new FederationError('JOB_SPEC_INVALID',
      `parameter set ${paramSet} leaves only ${best} fractional bits for ${maxSites} sites at clip ${clipNorm}; lower clipNorm or use a set with wider lanes`);
  }
  return Math.min(best, 24);
}

export async function startCeremony(tx: Queryable, jobId: string, spec: JobSpec, sites: readonly SiteRow[]): Promise<void> {
  const participants = participantsOf(spec);
  const keys: Record<string, JWK> = {};
  const entries = [];
  for (const id of participants) {
    const jwk = sites.find((s) => s.id === id)?.key_agreement_jwk;
    if (!jwk) {
      throw new FederationError('JOB_SPEC_INVALID', `site ${id} has no key-agreement key on record; it must enroll (agent start) before an encrypted job can include it`);
    }
    keys[id] = jwk;
    entries.push({ siteId: id, keyAgreementJwkThumbprint: await calculateJwkThumbprint(jwk, 'sha256') });
  }
  const siteList: SiteList = { job: jobId, epoch: 1, sites: entries };
  await tx.query(
    `INSERT INTO job_keys (job_id, epoch, status, param_set, site_list, generating_site, key_agreement_keys)
     VALUES ($1, 1, 'signing', $2, $3, $4, $5)`,
    [jobId, spec.encryption!.paramSet, JSON.stringify(siteList), spec.sites[0], JSON.stringify(keys)]);
}

export async function currentKeys(q: Queryable, jobId: string): Promise<JobKeysRow | null> {
  const { rows } = await q.query<JobKeysRow>('SELECT * FROM job_keys WHERE job_id = $1 ORDER BY epoch DESC LIMIT 1', [jobId]);
  return rows[0] ?? null;
}

export function keyTaskFor(keys: JobKeysRow, siteId: string): KeyTask | null {
  if (keys.status === 'signing' && keys.site_list.sites.some((s) => s.siteId === siteId) && !keys.signatures[siteId]) {
    return { phase: 'sign', siteList: keys.site_list };
  }
  if (keys.status === 'generating' && keys.generating_site === siteId) {
    return {
      phase: 'generate', paramSet: keys.param_set, keyAgreementKeys: keys.key_agreement_keys,
      statement: { list: keys.site_list, signatures: keys.site_list.sites.map((s) => keys.signatures[s.siteId]!) },
    };
  }
  return null;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const COMPACT_JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Records a steward's signature of the site list; the last one moves the ceremony to key generation. */
export async function acceptSignature(tx: Queryable, keys: JobKeysRow, siteId: string, jws: string): Promise<JobKeysRow['status']> {
  if (keys.status !== 'signing') throw new FederationError('ROUND_MISMATCH', `the key ceremony of job ${keys.job_id} is no longer collecting signatures`);
  if (!keys.site_list.sites.some((s) => s.siteId === siteId)) throw new FederationError('SITE_NOT_IN_JOB', `site ${siteId} is not on the site list of job ${keys.job_id}`);
  if (jws.length > 8192 || !COMPACT_JWS.test(jws) || decodeProtectedHeader(jws).kid !== siteId) {
    throw new FederationError('VALIDATION_FAILED', 'the site-list signature must be a compact JWS whose kid is the signing site');
  }
  const signatures = { ...keys.signatures, [siteId]: jws };
  const complete = keys.site_list.sites.every((s) => signatures[s.siteId]);
  await tx.query(`UPDATE job_keys SET signatures = $3, status = $4 WHERE job_id = $1 AND epoch = $2`,
    [keys.job_id, keys.epoch, JSON.stringify(signatures), complete ? 'generating' : 'signing']);
  return complete ? 'generating' : 'signing';
}

/** Stores the generating site's output: public parameters and exactly one wrapped key per listed site. */
export async function acceptKeyMaterial(tx: Queryable, keys: JobKeysRow, siteId: string, publicParams: HePublicParams, wrapped: Record<string, string>): Promise<void> {
  if (keys.status !== 'generating' || keys.generating_site !== siteId) {
    throw new FederationError('ROUND_MISMATCH', `site ${siteId} is not the key-generating site of job ${keys.job_id} at this step`);
  }
  const listed = keys.site_list.sites.map((s) => s.siteId).sort();
  if (JSON.stringify(Object.keys(wrapped).sort()) !== JSON.stringify(listed) || Object.values(wrapped).some((j) => j.length > 65_536 || !COMPACT_JWE.test(j))) {
    throw new FederationError('VALIDATION_FAILED', `wrapped keys must be one compact JWE for each of ${listed.join(', ')}`);
  }
  const pp = publicParams as unknown as Record<string, unknown>;
  if (pp.job !== keys.job_id || pp.epoch !== keys.epoch || pp.paramSetId !== keys.param_set || typeof pp.keyId !== 'string' || !/^[0-9a-f]{32}$/.test(pp.keyId)) {
    throw new FederationError('VALIDATION_FAILED', 'public parameters do not match the job, epoch and parameter set of the ceremony');
  }
  await tx.query(`UPDATE job_keys SET status = 'ready', public_params = $3, wrapped_keys = $4, ready_at = now() WHERE job_id = $1 AND epoch = $2`,
    [keys.job_id, keys.epoch, JSON.stringify(publicParams), JSON.stringify(wrapped)]);
}

export function encryptedSettings(spec: JobSpec, keys: JobKeysRow): EncryptedSettingsForJob | null {
  if (keys.status !== 'ready' || !keys.public_params || !spec.encryption) return null;
  return {
    paramSet: keys.param_set, keyId: keys.public_params.keyId, epoch: keys.epoch,
    clipNorm: spec.encryption.clipNorm, fracBits: spec.encryption.fracBits, maxSites: spec.sites.length,
  };
}
