import { randomUUID } from 'node:crypto';
import { decodeVector, encodeVector, sha256Hex, type EncryptedSettingsForJob } from '@medfed/proto';
import { parseStatsQuery, queryDigest, statsLayout, verifyStatsResult, type StatsResult } from '@medfed/proto/stats/index';
import type { JWK } from 'jose';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Db, Queryable } from '../storage/db.js';
import { FederationError } from '../federation/errors.js';
import { startCeremony } from '../federation/key-ceremony.js';
import { sumEncrypted } from '../federation/encrypted-aggregation.js';
import { SYSTEM_ACTOR, siteActor, type Actor, type AuditRecorder } from '../federation/audit-recorder.js';
import type { ContributionRow, JobRow, ModelRow, RoundKind, RoundRow, SiteRow } from '../federation/rows.js';
import { moveRound } from '../federation/round-state.js';
import type { TaskAssignment } from '../federation/task-assignment.js';
import { isStatisticsSpec, publishingSite, statisticsJobSpec, statsVectorLength } from './spec.js';

/** What the statistics rounds borrow from the round engine (its transactions, audit and storage helpers). */
export interface StatisticsHooks {
  record(tx: Queryable, by: Actor, action: string, resource: string, outcome: 'success' | 'denied' | 'failure',
    details: Record<string, string | number | boolean | string[]>, rule?: string): Promise<void>;
  openRound(tx: Queryable, job: JobRow, round: number, kind: RoundKind, inputModelId: string | null): Promise<void>;
  insertModel(tx: Queryable, model: ModelRow): Promise<void>;
  recordRoundClose(tx: Queryable, job: JobRow, round: RoundRow, sha256: string | null): Promise<void>;
  encryptedSettingsOf(job: JobRow): Promise<EncryptedSettingsForJob>;
  storedContributions(job: JobRow, round: RoundRow): AsyncGenerator<{ row: ContributionRow; bytes: Buffer }>;
  activeSite(id: string): Promise<SiteRow>;
  job(id: string): Promise<JobRow>;
  changed(): void;
}

export interface StatsResultRow {
  job_id: string;
  query_digest: string;
  publishing_site: string;
  status: 'collecting' | 'publishing' | 'published' | 'failed';
  sum_model_id: string | null;
  contributors: string[] | null;
  result: StatsResult | null;
  result_jws: string | null;
  published_at: Date | null;
  /** When the publishing site's time is up (set when the sum is handed to it). */
  publish_deadline_at: Date | null;
  /** Sites that let their publish deadline pass, in order. */
  publish_missed: string[];
}

const CODE = /^[A-Z][A-Z0-9_]{1,63}$/;

/**
 * Federated statistics through the round engine: a query becomes a one-round job (kind
 * `statistics`); every listed site answers with its masked, optionally noised per-group integer
 * sums (encrypted with the job's key unless it is a development plaintext job); the coordinator
 * adds them; one key-holding site (the first listed contributor) decrypts the sum, suppresses small
 * cells, signs the result and uploads it; the coordinator verifies the signature and stores it.
 * The publishing site has the query's deadline to do so, counted from when the sum is handed to
 * it; a site that lets it pass is skipped for the next site that answered, and when none is left
 * the query fails with STATS_PUBLISH_TIMEOUT.
 */
export class StatisticsRounds {
  private readonly db: Db;
  private readonly blobs: BlobStore;
  private readonly audit: AuditRecorder;
  private readonly env: 'development' | 'production';
  private readonly now: () => Date;
  private readonly hooks: StatisticsHooks;

  constructor(db: Db, blobs: BlobStore, audit: AuditRecorder, env: 'development' | 'production', now: () => Date, hooks: StatisticsHooks) {
    this.db = db;
    this.blobs = blobs;
    this.audit = audit;
    this.env = env;
    this.now = now;
    this.hooks = hooks;
  }

  /** Validates and registers a query; sites receive it on their next poll. */
  async submit(input: unknown, by: Actor): Promise<JobRow> {
    let spec;
    let digest: string;
    try {
      const q = parseStatsQuery(input);
      spec = statisticsJobSpec(q, this.env);
      digest = queryDigest(q);
    } catch (err) {
      await this.audit.append({
        actor: by.actor, role: by.role, site: by.site ?? null, request_id: by.requestId ?? null, action: 'stats.query.submit',
        resource: 'stats', outcome: 'denied', rule: 'stats:query-valid', details: { reason: (err as { code?: string }).code ?? 'JOB_SPEC_INVALID' },
      });
      throw err;
    }
    const q = spec.statistics!;
    const sites: SiteRow[] = [];
    for (const id of q.sites) sites.push(await this.hooks.activeSite(id));
    const id = `job-${randomUUID()}`;
    const encrypted = q.encryption.enabled;
    const job = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<JobRow>(
        `INSERT INTO jobs (id, name, owner, spec, status, total_rounds, encrypted) VALUES ($1, $2, $3, $4, 'running', 1, $5) RETURNING *`,
        [id, spec.name, by.actor, JSON.stringify(spec), encrypted]);
      if (encrypted) await startCeremony(tx, id, spec, sites);
      for (const s of q.sites) await tx.query(`INSERT INTO job_sites (job_id, site_id, role) VALUES ($1, $2, 'trainer')`, [id, s]);
      await tx.query(`INSERT INTO stats_results (job_id, query_digest, publishing_site, status) VALUES ($1, $2, $3, 'collecting')`,
        [id, digest, q.sites[0]]);
      await this.hooks.record(tx, by, 'stats.query.submit', `job:${id}`, 'success', {
        job: id, sites: [...q.sites], sha256: digest, encrypted, ...(q.dp ? { epsilon: q.dp.epsilon } : {}),
      });
      await this.hooks.openRound(tx, rows[0]!, 0, 'stats', null);
      return (await tx.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [id])).rows[0]!;
    });
    this.hooks.changed();
    return job;
  }

  /**
   * A site refused to answer (masking rules, privacy budget, data): audited with its reason code.
   * The round engine fails the job when the answers can no longer complete; a refusal of the
   * publishing site fails it here, since no other site was chosen to publish.
   */
  async recordRefusal(siteId: string, jobId: string, detail: string): Promise<void> {
    const first = detail.split(':')[0]?.trim() ?? '';
    const code = CODE.test(first) ? first : 'TASK_FAILED';
    const row = await this.row(jobId);
    if (row.status === 'publishing' && row.publishing_site === siteId) {
      const why = `publishing site ${siteId} could not publish the result: ${detail.slice(0, 500)}`;
      await this.db.transaction(async (tx) => {
        await tx.query(`UPDATE stats_results SET status = 'failed' WHERE job_id = $1`, [jobId]);
        await tx.query(`UPDATE jobs SET status = 'failed', failure = $2, updated_at = now() WHERE id = $1 AND status = 'running'`, [jobId, why]);
        await this.hooks.record(tx, siteActor(siteId), 'stats.publish', `job:${jobId}`, 'failure', { job: jobId, site: siteId, reason: code }, 'stats:publishing-site-failed');
        await this.hooks.record(tx, SYSTEM_ACTOR, 'job.fail', `job:${jobId}`, 'failure', { job: jobId, reason: code });
      });
      this.hooks.changed();
      return;
    }
    await this.audit.append({
      actor: siteId, role: 'node', site: siteId, action: 'stats.answer', resource: `job:${jobId}`, outcome: 'denied',
      rule: 'stats:site-refused', details: { job: jobId, site: siteId, reason: code },
    });
  }

  /** Sums the answers (under encryption when the job is encrypted) and hands the sum to the publishing site. */
  async closeRound(job: JobRow, round: RoundRow): Promise<void> {
    const length = statsVectorLength(job.spec);
    let bytes: Uint8Array;
    let contributors: string[];
    let keyEpoch: number | null = null;
    if (job.encrypted) {
      const settings = await this.hooks.encryptedSettingsOf(job);
      keyEpoch = settings.epoch;
      const uploads = async function* (self: StatisticsRounds) {
        for await (const { row, bytes: b } of self.hooks.storedContributions(job, round)) yield { siteId: row.site_id, bytes: b };
      };
      ({ bytes, contributors } = await sumEncrypted(settings, 'stats', length, uploads(this)));
    } else {
      const sum = new Float64Array(length);
      contributors = [];
      for await (const { row, bytes: b } of this.hooks.storedContributions(job, round)) {
        const v = decodeVector(b, 'float64', length);
        for (let i = 0; i < length; i++) sum[i]! += v[i]!;
        contributors.push(row.site_id);
      }
      bytes = encodeVector(sum);
    }
    const sha256 = sha256Hex(bytes);
    const publishDeadline = this.publishDeadline(job);
    const blobKey = `models/${job.id}/stats-sum-${round.round}-${sha256}`;
    await this.blobs.put(blobKey, bytes);
    const model: ModelRow = {
      id: `stats-${job.id.slice(4, 12)}-r${round.round}-${sha256.slice(0, 12)}`, job_id: job.id, round: round.round, param_count: length,
      byte_size: bytes.byteLength, sha256, blob_key: blobKey, encrypted: job.encrypted, kind: 'stats-sum', total_weight: null, contributors,
      key_epoch: keyEpoch, created_at: this.now(),
    };
    const q = isStatisticsSpec(job.spec) ? job.spec.statistics : null;
    const publisher = q ? publishingSite(q, contributors) : null;
    const { rows: answers } = await this.db.query<{ site_id: string; sha256: string }>(
      'SELECT site_id, sha256 FROM contributions WHERE job_id = $1 AND round = $2 ORDER BY site_id', [job.id, round.round]);
    await this.db.transaction(async (tx) => {
      await this.hooks.insertModel(tx, model);
      await moveRound(tx, { jobId: job.id, round: round.round }, 'closed', { outputModelId: model.id }, 'aggregating');
      await tx.query(`UPDATE stats_results SET status = 'publishing', sum_model_id = $2, contributors = $3, publishing_site = $4, publish_deadline_at = $5
        WHERE job_id = $1`, [job.id, model.id, JSON.stringify(contributors), publisher, publishDeadline]);
      for (const a of answers) {
        await this.hooks.record(tx, siteActor(a.site_id), 'stats.answer', `job:${job.id}`, 'success', { job: job.id, site: a.site_id, sha256: a.sha256 });
      }
      await this.hooks.recordRoundClose(tx, job, round, model.sha256);
    });
    this.hooks.changed();
  }

  /** The publish task of a site chosen to decrypt a summed query, or null. */
  async publishTaskFor(siteId: string): Promise<TaskAssignment | null> {
    const { rows } = await this.db.query<StatsResultRow & { deadline_at: Date }>(
      `SELECT sr.*, r.deadline_at FROM stats_results sr JOIN jobs j ON j.id = sr.job_id JOIN rounds r ON r.job_id = j.id AND r.round = 0
        WHERE sr.status = 'publishing' AND sr.publishing_site = $1 AND j.status = 'running' ORDER BY j.created_at LIMIT 1`, [siteId]);
    const row = rows[0];
    if (!row || !row.sum_model_id) return null;
    const job = await this.hooks.job(row.job_id);
    // The sum names the key epoch it is under, should the job's keys have changed since it was added.
    const { rows: models } = await this.db.query<ModelRow & { key_id: string | null }>(
      `SELECT m.*, k.public_params->>'keyId' AS key_id FROM models m LEFT JOIN job_keys k ON k.job_id = m.job_id AND k.epoch = m.key_epoch
        WHERE m.id = $1 AND m.job_id = $2`, [row.sum_model_id, job.id]);
    const m = models[0]!;
    const encryption = job.encrypted ? { ...(await this.hooks.encryptedSettingsOf(job)), weight: 0 } : undefined;
    return {
      jobId: job.id, round: 0, duty: 'stats-publish', spec: job.spec, standardization: null, modelId: null, modelSha256: null,
      modelRound: 0, deadline: row.publish_deadline_at ?? row.deadline_at, updateLength: 0,
      ...(encryption ? { encryption } : {}),
      statsSum: {
        modelId: m.id, round: m.round, sha256: m.sha256, kind: m.kind, totalWeight: null, contributors: m.contributors,
        ...(m.key_epoch && m.key_id ? { epoch: m.key_epoch, keyId: m.key_id } : {}),
      },
    };
  }

  /**
   * Verifies and stores a published result: the publishing site's signature (its node key), the
   * job, query and sum it names, and that no released cell describes fewer than minCellSize patients.
   */
  async acceptResult(siteId: string, jobId: string, jws: string): Promise<void> {
    const site = await this.hooks.activeSite(siteId);
    const job = await this.hooks.job(jobId);
    if (!isStatisticsSpec(job.spec)) throw new FederationError('ROUND_MISMATCH', `job ${jobId} is not a statistics job`);
    const row = await this.row(jobId);
    if (row.status !== 'publishing' || row.publishing_site !== siteId) {
      throw new FederationError('ROUND_MISMATCH', `site ${siteId} is not the publishing site of statistics job ${jobId} at this step`);
    }
    if (typeof jws !== 'string' || jws.length > 16 * 1024 * 1024) throw new FederationError('VALIDATION_FAILED', 'result_jws must be a compact JWS of at most 16 MiB');
    if (!site.attestation_jwk) throw new FederationError('VALIDATION_FAILED', `site ${siteId} has no node key on record to verify its result with`);
    const result = await verifyStatsResult(jws, site.attestation_jwk as JWK);
    const { rows: models } = await this.db.query<ModelRow>('SELECT * FROM models WHERE id = $1', [row.sum_model_id]);
    const q = job.spec.statistics;
    const mismatch =
      result.job !== jobId ? 'job' : result.queryDigest !== row.query_digest ? 'query digest' : result.publishedBy !== siteId ? 'publisher'
        : result.sumSha256 !== models[0]?.sha256 ? 'summed vector digest' : result.minCellSize < q.minCellSize ? 'minimum cell size'
          : JSON.stringify([...result.contributors].sort()) !== JSON.stringify([...(row.contributors ?? [])].sort()) ? 'contributors'
            : result.cells.length !== statsLayout(q).cells.length ? 'cell layout'
              : result.cells.some((c) => !c.suppressed && (c.count === null || c.count < result.minCellSize)) ? 'small-cell suppression' : null;
    if (mismatch) throw new FederationError('VALIDATION_FAILED', `the statistics result does not match the job: ${mismatch}`);
    await this.db.transaction(async (tx) => {
      // Conditional: the task may have passed to another site (deadline) while this result was checked.
      const stored = await tx.query(`UPDATE stats_results SET status = 'published', result = $2, result_jws = $3, published_at = now()
        WHERE job_id = $1 AND status = 'publishing' AND publishing_site = $4`, [jobId, JSON.stringify(result), jws, siteId]);
      if (stored.rowCount !== 1) {
        throw new FederationError('ROUND_MISMATCH', `site ${siteId} is no longer the publishing site of statistics job ${jobId}`);
      }
      await tx.query(`UPDATE jobs SET status = 'completed', updated_at = now() WHERE id = $1`, [jobId]);
      await this.hooks.record(tx, siteActor(siteId), 'stats.publish', `job:${jobId}`, 'success', {
        job: jobId, site: siteId, sha256: sha256Hex(jws), sites: [...result.contributors],
      }, 'stats:signed-by-publishing-site');
      await this.hooks.record(tx, SYSTEM_ACTOR, 'job.complete', `job:${jobId}`, 'success', { job: jobId, rounds: 1 });
    });
    this.hooks.changed();
  }

  /**
   * Called by the round engine for a running statistics job whose round has closed: when the
   * publishing site has let its deadline pass, the publish task goes to the next site that answered
   * (in the query's order) with a fresh deadline; when every answering site has missed it, the
   * query fails with STATS_PUBLISH_TIMEOUT. Both steps are audited with the missed site.
   */
  async checkPublishDeadline(job: JobRow): Promise<void> {
    if (!isStatisticsSpec(job.spec)) return;
    const row = await this.row(job.id);
    if (row.status !== 'publishing' || !row.publish_deadline_at || this.now() < row.publish_deadline_at) return;
    const missedSite = row.publishing_site;
    const missed = [...(row.publish_missed ?? []), missedSite];
    const next = publishingSite(job.spec.statistics, (row.contributors ?? []).filter((s) => !missed.includes(s)));
    const code = 'STATS_PUBLISH_TIMEOUT';
    await this.db.transaction(async (tx) => {
      const moved = next
        ? await tx.query(`UPDATE stats_results SET publishing_site = $3, publish_deadline_at = $4, publish_missed = $5
            WHERE job_id = $1 AND status = 'publishing' AND publishing_site = $2`,
          [job.id, missedSite, next, this.publishDeadline(job), JSON.stringify(missed)])
        : await tx.query(`UPDATE stats_results SET status = 'failed', publish_missed = $3
            WHERE job_id = $1 AND status = 'publishing' AND publishing_site = $2`, [job.id, missedSite, JSON.stringify(missed)]);
      if (moved.rowCount !== 1) return; // published (or failed) in the meantime
      await this.hooks.record(tx, siteActor(missedSite), 'stats.publish', `job:${job.id}`, 'failure',
        { job: job.id, site: missedSite, reason: code }, 'stats:publish-deadline');
      if (next) {
        await this.hooks.record(tx, SYSTEM_ACTOR, 'stats.publish.handover', `job:${job.id}`, 'success',
          { job: job.id, site: next, reason: code }, 'stats:publish-deadline');
        return;
      }
      const why = `${code}: no site that answered published the result within its deadline (missed by ${missed.join(', ')})`;
      await tx.query(`UPDATE jobs SET status = 'failed', failure = $2, updated_at = now() WHERE id = $1 AND status = 'running'`, [job.id, why]);
      await this.hooks.record(tx, SYSTEM_ACTOR, 'job.fail', `job:${job.id}`, 'failure', { job: job.id, reason: code });
    });
    this.hooks.changed();
  }

  /** The publishing site's deadline from now: the query's own deadline, as each site had to answer. */
  private publishDeadline(job: JobRow): Date {
    return new Date(this.now().getTime() + job.spec.roundDeadlineSeconds * 1000);
  }

  async row(jobId: string): Promise<StatsResultRow> {
    const { rows } = await this.db.query<StatsResultRow>('SELECT * FROM stats_results WHERE job_id = $1', [jobId]);
    if (!rows[0]) throw new FederationError('UNKNOWN_JOB', `no statistics query "${jobId}" exists`);
    return rows[0];
  }
}
