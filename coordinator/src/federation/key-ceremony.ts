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
 *
 * Each change of the job's site list starts a new epoch (docs/crypto.md, "Key epochs"). A site on
 * the new list that lacks keys of earlier epochs (a joiner) gets them wrapped by the generating
 * site, which is always one that holds the whole history.
 */
export type EpochReason = 'JOB_START' | 'SITE_JOINED' | 'SITE_LEFT' | 'SITE_SUSPENDED' | 'ROTATION';

/** Earlier epochs' keys a site must receive: the epoch and the key id it must unwrap to. */
export interface HistoryEntry { epoch: number; keyId: string }

export interface JobKeysRow {
  job_id: string;
  epoch: number;
  status: 'signing' | 'generating' | 'ready' | 'superseded';
  param_set: string;
  site_list: SiteList;
  signatures: Record<string, string>;
  generating_site: string;
  key_agreement_keys: Record<string, JWK>;
  public_params: HePublicParams | null;
  wrapped_keys: Record<string, string> | null;
  reason: EpochReason;
  requested_by: string | null;
  history_plan: Record<string, HistoryEntry[]>;
  history_keys: Record<string, Record<string, string>> | null;
  created_at: Date;
  ready_at: Date | null;
}

export type KeyTask =
  | { phase: 'sign'; siteList: SiteList }
  | {
    phase: 'generate'; statement: { list: SiteList; signatures: string[] }; keyAgreementKeys: Record<string, JWK>; paramSet: string;
    /** Sites that must also receive earlier epochs' keys (absent when none). */
    history?: Record<string, HistoryEntry[]>;
  };

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

/** Whether a sum of `sites` clipped updates still fits the lanes at the job's fixed encoding. */
export function lanesFit(paramSet: string, clipNorm: number, fracBits: number, sites: number): boolean {
  return laneLimit(getParamSet(paramSet)) / (sites * clipNorm) >= 2 ** fracBits;
}

async function siteListOf(jobId: string, epoch: number, participants: readonly string[], sites: readonly SiteRow[]) {
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
  const siteList: SiteList = { job: jobId, epoch, sites: entries };
  return { siteList, keys };
}

export async function startCeremony(tx: Queryable, jobId: string, spec: JobSpec, sites: readonly SiteRow[]): Promise<void> {
  const { siteList, keys } = await siteListOf(jobId, 1, participantsOf(spec), sites);
  await tx.query(
    `INSERT INTO job_keys (job_id, epoch, status, param_set, site_list, generating_site, key_agreement_keys)
     VALUES ($1, 1, 'signing', $2, $3, $4, $5)`,
    [jobId, spec.encryption!.paramSet, JSON.stringify(siteList), spec.sites[0], JSON.stringify(keys)]);
}

/** Which earlier epochs' keys each participant can already fetch (its own wrap, or one wrapped for it later). */
function heldEpochs(ready: readonly JobKeysRow[]): Map<string, Set<number>> {
  const held = new Map<string, Set<number>>();
  const add = (site: string, epoch: number) => (held.get(site) ?? held.set(site, new Set()).get(site)!).add(epoch);
  for (const row of ready) {
    for (const site of Object.keys(row.wrapped_keys ?? {})) add(site, row.epoch);
    for (const [site, byEpoch] of Object.entries(row.history_keys ?? {})) for (const e of Object.keys(byEpoch)) add(site, Number(e));
  }
  return held;
}

/**
 * Starts the next epoch for the job's current participants, in the caller's transaction: an epoch
 * still collecting signatures or generating is superseded; the generating site is the first
 * participant that holds every earlier epoch's key; every other participant is planned to receive
 * the earlier keys it lacks. Returns the new epoch number.
 */
export async function startNextEpoch(tx: Queryable, jobId: string, participants: readonly string[], sites: readonly SiteRow[],
  reason: EpochReason, requestedBy: string): Promise<JobKeysRow> {
  const { rows: all } = await tx.query<JobKeysRow>('SELECT * FROM job_keys WHERE job_id = $1 ORDER BY epoch FOR UPDATE', [jobId]);
  const latest = all.at(-1);
  if (!latest) throw new FederationError('JOB_NOT_RUNNING', `job ${jobId} has no key ceremony (it is not an encrypted job)`);
  const ready = all.filter((r) => r.status === 'ready' && r.public_params);
  const held = heldEpochs(ready);
  const plan: Record<string, HistoryEntry[]> = {};
  for (const site of participants) {
    const missing = ready.filter((r) => !held.get(site)?.has(r.epoch)).map((r) => ({ epoch: r.epoch, keyId: r.public_params!.keyId }));
    if (missing.length > 0) plan[site] = missing;
  }
  const generating = participants.find((s) => !plan[s]);
  if (!generating) {
    throw new FederationError('KEY_EPOCH_CHANGE_REFUSED', `no site on the new list of job ${jobId} holds the keys of every earlier epoch; keep at least one continuing site`, { unviable: true });
  }
  const epoch = latest.epoch + 1;
  const { siteList, keys } = await siteListOf(jobId, epoch, participants, sites);
  await tx.query(`UPDATE job_keys SET status = 'superseded' WHERE job_id = $1 AND status IN ('signing', 'generating')`, [jobId]);
  const { rows } = await tx.query<JobKeysRow>(
    `INSERT INTO job_keys (job_id, epoch, status, param_set, site_list, generating_site, key_agreement_keys, reason, requested_by, history_plan)
     VALUES ($1, $2, 'signing', $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
    [jobId, epoch, latest.param_set, JSON.stringify(siteList), generating, JSON.stringify(keys), reason, requestedBy, JSON.stringify(plan)]);
  return rows[0]!;
}

export async function currentKeys(q: Queryable, jobId: string): Promise<JobKeysRow | null> {
  const { rows } = await q.query<JobKeysRow>('SELECT * FROM job_keys WHERE job_id = $1 ORDER BY epoch DESC LIMIT 1', [jobId]);
  return rows[0] ?? null;
}

export async function allEpochs(q: Queryable, jobId: string): Promise<JobKeysRow[]> {
  return (await q.query<JobKeysRow>('SELECT * FROM job_keys WHERE job_id = $1 ORDER BY epoch', [jobId])).rows;
}

/**
 * The wrapped key a site may fetch for an epoch (the latest ready one when `epoch` is 0): its own
 * wrap on that epoch's list, or one wrapped for it as a joiner by a later epoch's generating site.
 * A site that left before an epoch holds nothing of it.
 */
export async function wrappedKeyOf(q: Queryable, jobId: string, siteId: string, epoch: number): Promise<{ row: JobKeysRow; jwe: string; latestReady: number }> {
  const rows = (await allEpochs(q, jobId)).filter((r) => r.status === 'ready' && r.wrapped_keys && r.public_params);
  const row = epoch > 0 ? rows.find((r) => r.epoch === epoch) : rows.at(-1);
  if (!row) throw new FederationError('ROUND_MISMATCH', `job ${jobId} has no keys ${epoch > 0 ? `for epoch ${epoch}` : 'yet'}`);
  const jwe = row.wrapped_keys![siteId] ?? rows.map((r) => r.history_keys?.[siteId]?.[String(row.epoch)]).find((j) => j !== undefined);
  if (!jwe) throw new FederationError('KEY_EPOCH_NOT_HELD', `site ${siteId} holds no key of epoch ${row.epoch} of job ${jobId}`);
  return { row, jwe, latestReady: rows.at(-1)!.epoch };
}

export function keyTaskFor(keys: JobKeysRow, siteId: string): KeyTask | null {
  if (keys.status === 'signing' && keys.site_list.sites.some((s) => s.siteId === siteId) && !keys.signatures[siteId]) {
    return { phase: 'sign', siteList: keys.site_list };
  }
  if (keys.status === 'generating' && keys.generating_site === siteId) {
    const history = Object.keys(keys.history_plan ?? {}).length > 0 ? { history: keys.history_plan } : {};
    return {
      phase: 'generate', paramSet: keys.param_set, keyAgreementKeys: keys.key_agreement_keys,
      statement: { list: keys.site_list, signatures: keys.site_list.sites.map((s) => keys.signatures[s.siteId]!) },
      ...history,
    };
  }
  return null;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const COMPACT_JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const isJwe = (j: unknown) => typeof j === 'string' && j.length <= 65_536 && COMPACT_JWE.test(j);

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

/** History wraps must be exactly one compact JWE per planned (site, epoch), nothing more. */
function checkHistory(keys: JobKeysRow, history: unknown): Record<string, Record<string, string>> | null {
  const plan = keys.history_plan ?? {};
  const wanted = Object.entries(plan).flatMap(([site, entries]) => entries.map((e) => `${site}@${e.epoch}`)).sort();
  if (wanted.length === 0 && (history === undefined || history === null || (typeof history === 'object' && Object.keys(history).length === 0))) return null;
  const h = (history ?? {}) as Record<string, Record<string, unknown>>;
  const given = typeof h === 'object' && !Array.isArray(h)
    ? Object.entries(h).flatMap(([site, byEpoch]) => (typeof byEpoch === 'object' && byEpoch !== null ? Object.keys(byEpoch).map((e) => `${site}@${e}`) : [`${site}@?`])).sort()
    : ['?'];
  const allJwe = Object.values(h).every((byEpoch) => typeof byEpoch === 'object' && byEpoch !== null && Object.values(byEpoch).every(isJwe));
  if (JSON.stringify(given) !== JSON.stringify(wanted) || !allJwe) {
    throw new FederationError('VALIDATION_FAILED', `earlier epochs' keys must be one compact JWE for each of [${wanted.join(', ')}]`);
  }
  return h as Record<string, Record<string, string>>;
}

/** Stores the generating site's output: public parameters, exactly one wrapped key per listed site, and the planned history wraps. */
export async function acceptKeyMaterial(tx: Queryable, keys: JobKeysRow, siteId: string, publicParams: HePublicParams, wrapped: Record<string, string>,
  history?: unknown): Promise<void> {
  if (keys.status !== 'generating' || keys.generating_site !== siteId) {
    throw new FederationError('ROUND_MISMATCH', `site ${siteId} is not the key-generating site of job ${keys.job_id} at this step`);
  }
  const listed = keys.site_list.sites.map((s) => s.siteId).sort();
  if (JSON.stringify(Object.keys(wrapped).sort()) !== JSON.stringify(listed) || !Object.values(wrapped).every(isJwe)) {
    throw new FederationError('VALIDATION_FAILED', `wrapped keys must be one compact JWE for each of ${listed.join(', ')}`);
  }
  const historyKeys = checkHistory(keys, history);
  const pp = publicParams as unknown as Record<string, unknown>;
  if (pp.job !== keys.job_id || pp.epoch !== keys.epoch || pp.paramSetId !== keys.param_set || typeof pp.keyId !== 'string' || !/^[0-9a-f]{32}$/.test(pp.keyId)) {
    throw new FederationError('VALIDATION_FAILED', 'public parameters do not match the job, epoch and parameter set of the ceremony');
  }
  await tx.query(`UPDATE job_keys SET status = 'ready', public_params = $3, wrapped_keys = $4, history_keys = $5, ready_at = now() WHERE job_id = $1 AND epoch = $2`,
    [keys.job_id, keys.epoch, JSON.stringify(publicParams), JSON.stringify(wrapped), historyKeys ? JSON.stringify(historyKeys) : null]);
}

export function encryptedSettings(spec: JobSpec, keys: JobKeysRow): EncryptedSettingsForJob | null {
  if (keys.status !== 'ready' || !keys.public_params || !spec.encryption) return null;
  return {
    paramSet: keys.param_set, keyId: keys.public_params.keyId, epoch: keys.epoch,
    clipNorm: spec.encryption.clipNorm, fracBits: spec.encryption.fracBits, maxSites: spec.sites.length,
  };
}

/** What `medfed keys status` shows of an epoch: no key material. */
export function epochView(r: JobKeysRow) {
  return {
    epoch: r.epoch, status: r.status, reason: r.reason, requestedBy: r.requested_by,
    sites: r.site_list.sites.map((s) => s.siteId), signed: Object.keys(r.signatures).sort(), generatingSite: r.generating_site,
    keyId: r.public_params?.keyId ?? null, joiners: Object.keys(r.history_plan ?? {}).sort(), createdAt: r.created_at, readyAt: r.ready_at,
  };
}
