import { Task, TaskKind, type JobSpec } from '@medfed/proto';
import type { ModelRow } from '../federation/rows.js';
import { currentKeys, encryptedSettings } from '../federation/key-ceremony.js';
import type { Queryable } from '../storage/db.js';
import type { ReleaseRow } from './release-store.js';

/** What a release task tells the site (Task.release_json); the agent validates it. */
export interface ReleaseTaskBody {
  readonly release: string;
  readonly step: 'decrypt' | 'reproduce';
  readonly round: number;
  readonly inputModelId: string;
  readonly inputSha256: string;
  /**
   * Every site steward's signed approval recorded for the release (compact JWS). The site verifies a
   * majority of the job's sites among them against its own pins before it decrypts or countersigns.
   */
  readonly approvals: readonly string[];
  /**
   * Never sent by this coordinator: the reproducing site is not told the first site's digest, so it
   * cannot countersign without doing the decryption; the coordinator compares the two digests.
   */
  readonly expectedSha256?: string;
}

/**
 * The release step waiting for `siteId`, as a task: the decrypting site's once the quorum approved,
 * the reproducing site's once the first site uploaded. It carries the job's encryption settings and
 * the model chain up to the released round, exactly what a round task carries, so the site rebuilds
 * the plaintext the way it does for training. A step past its deadline is not handed out: it is
 * about to be reassigned (ReleaseService.expireSteps).
 */
export async function releaseTaskFor(q: Queryable, siteId: string): Promise<Task | null> {
  const { rows } = await q.query<ReleaseRow & { spec: JobSpec }>(
    `SELECT r.*, j.spec FROM releases r JOIN jobs j ON j.id = r.job_id
      WHERE ((r.state = 'approved' AND r.decrypting_site = $1) OR (r.state = 'decrypted' AND r.reproducing_site = $1))
        AND (r.step_deadline IS NULL OR r.step_deadline > now())
      ORDER BY r.created_at LIMIT 1`, [siteId]);
  const row = rows[0];
  if (!row) return null;
  const keys = await currentKeys(q, row.job_id);
  const settings = keys ? encryptedSettings(row.spec, keys) : null;
  if (!settings) return null; // cannot happen for a job whose round sums exist; nothing to hand out then
  const { rows: chain } = await q.query<ModelRow>(
    `SELECT * FROM models WHERE job_id = $1 AND round <= $2 AND kind IN ('weights', 'update-sum') ORDER BY round`, [row.job_id, row.round]);
  const { rows: signed } = await q.query<{ approval: string }>(
    `SELECT approval FROM release_approvals WHERE release_id = $1 AND capacity LIKE 'site:%' AND approval IS NOT NULL ORDER BY approved_at, capacity, approver`, [row.id]);
  const body: ReleaseTaskBody = {
    release: row.id, step: row.state === 'approved' ? 'decrypt' : 'reproduce', round: row.round, inputModelId: row.input_model_id, inputSha256: row.input_sha256,
    approvals: signed.map((a) => a.approval),
  };
  return Task.fromPartial({
    jobId: row.job_id,
    round: row.round,
    kind: TaskKind.TASK_KIND_RELEASE,
    jobSpecJson: JSON.stringify(row.spec),
    modelId: row.input_model_id,
    modelSha256: row.input_sha256,
    modelRound: row.round,
    encryptionJson: JSON.stringify({ ...settings, weight: 0 }),
    modelChainJson: JSON.stringify(chain.map((m) => ({
      modelId: m.id, round: m.round, sha256: m.sha256, kind: m.kind, totalWeight: m.total_weight, contributors: m.contributors,
    }))),
    releaseJson: JSON.stringify(body),
  });
}
