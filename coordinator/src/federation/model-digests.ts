import type { Queryable } from '../storage/db.js';

/** The source of a reference the coordinator holds itself: the stored model of a plaintext job. */
export const COORDINATOR_SOURCE = 'coordinator';

/** Two reports of one round's global model that disagree: the reference and the report that differs. */
export interface ModelDivergence {
  readonly modelRound: number;
  /** `coordinator` (a plaintext job's stored model) or the site whose report came first. */
  readonly referenceSource: string;
  readonly referenceSha256: string;
  readonly site: string;
  readonly sha256: string;
}

/** A plaintext job's model, as stored: the reference every site's report of that round is held to. */
export async function recordStoredModelDigest(tx: Queryable, jobId: string, modelRound: number, sha256: string): Promise<void> {
  await tx.query(
    `INSERT INTO model_digests (job_id, model_round, params_sha256, source) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
    [jobId, modelRound, sha256, COORDINATOR_SOURCE]);
}

/**
 * A site's digest of the model it measured: the first one recorded for a model round is its
 * reference (on an encrypted job each site rebuilt the model from the decrypted sums; no one else
 * can know it); a later one that differs is a divergence.
 */
export async function checkReportedDigest(tx: Queryable, jobId: string, modelRound: number, site: string, sha256: string): Promise<ModelDivergence | null> {
  await tx.query(
    `INSERT INTO model_digests (job_id, model_round, params_sha256, source) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
    [jobId, modelRound, sha256, site]);
  const { rows } = await tx.query<{ params_sha256: string; source: string }>(
    'SELECT params_sha256, source FROM model_digests WHERE job_id = $1 AND model_round = $2', [jobId, modelRound]);
  const reference = rows[0];
  if (!reference || reference.params_sha256 === sha256) return null;
  return { modelRound, referenceSource: reference.source, referenceSha256: reference.params_sha256, site, sha256 };
}

export function divergenceMessage(d: ModelDivergence): string {
  const reference = d.referenceSource === COORDINATOR_SOURCE
    ? `the coordinator stored ${d.referenceSha256}` : `site ${d.referenceSource} reported ${d.referenceSha256}`;
  return `the sites' global models of round ${d.modelRound} diverged: ${reference}, site ${d.site} reported ${d.sha256}`;
}

/** The reference digest of each model round of a job (what a plaintext run and an encrypted run compare). */
export async function modelDigestsOf(db: Queryable, jobId: string): Promise<Map<number, string>> {
  const { rows } = await db.query<{ model_round: number; params_sha256: string }>(
    'SELECT model_round, params_sha256 FROM model_digests WHERE job_id = $1', [jobId]);
  return new Map(rows.map((r) => [r.model_round, r.params_sha256]));
}
