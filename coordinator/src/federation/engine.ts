import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import {
  decodeVector, encodeVector, initialWeights, MIN_ENCRYPTED_SITES, parameterCount, sha256Hex, SHA256_HEX, StrategyError,
  type EncryptedSettingsForJob, type HePublicParams, type JobSpec,
  ExactStatisticsSum, standardizationOf,
} from '@medfed/proto';
import type { JWK } from 'jose';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Db, Queryable } from '../storage/db.js';
import { runPlaintextRound, totalWeightOf, type PlaintextUpdate } from '../strategies/index.js';
import { FederationError } from './errors.js';
import { dutyOf, expectedSites, featureStatsLength, participantsOf } from './participants.js';
import type { ContributionRow, JobRow, ModelRow, RoundKind, RoundRow, SiteRow } from './rows.js';
import { KeyedMutex } from './keyed-mutex.js';
import {
  acceptKeyMaterial, acceptSignature, allEpochs, currentKeys, encryptedSettings, epochView, keyTaskFor, lanesFit, startCeremony,
  startNextEpoch, wrappedKeyOf, type EpochReason,
} from './key-ceremony.js';
import { checkEncryptedUpload, sumEncrypted } from './encrypted-aggregation.js';
import { AttestationVerificationError, KeyReleaseGate, verifyAttestation, type KeyReleaseVerdict, type NonceStore } from '../attestation/index.js';
import { evaluateTrainerAdmission, type TrainerAdmissionRequest } from './trainer-admission.js';
import { parseAttestationPublicJwk, type AttestationPublicJwk } from '@medfed/proto/attestation/index';
import { SYSTEM_ACTOR, siteActor, type Actor, type AuditRecorder } from './audit-recorder.js';
import { siteApprovalEvent, type SiteApprovalReport } from './site-approval.js';
import type { ModelPublisher } from '../publishing/publisher.js';
import { StatisticsRounds, isStatisticsSpec, statsVectorLength } from '../statistics/index.js';
import { privacySpendEvent, type PrivacySpendReport } from '../audit/privacy-spend.js';
import { isRetryLater } from '../storage/errors.js';
import { CorruptedContributionError } from './corrupted-contribution.js';
import { encodingFracBits, resolveJobStrategy } from './job-strategy.js';
import { loadServerState, storeServerState } from './strategy-state.js';
import { checkReportedDigest, divergenceMessage, recordStoredModelDigest, type ModelDivergence } from './model-digests.js';
import { failLiveRounds, moveRound, tryMoveRound } from './round-state.js';
import { admitLateUpdate, checkSemiAsyncSpec, closesEarly, latenessOf, refuseCountedTwice, roundClosedError, stalenessBySite, stalenessOf, type Lateness } from './semi-async-admission.js';

import type { ChainLink, TaskAssignment } from './task-assignment.js';

export type { ChainLink, TaskAssignment, TaskDuty } from './task-assignment.js';


/** A change of a running job's site list (docs/crypto.md, "Key epochs"). */
export type SiteChange =
  | { readonly add: string; readonly role?: 'trainer' | 'evaluator' }
  | { readonly remove: string };

export interface UpdateHeader {
  /** Compact JWS attestation (jobs with a trainer allowlist). */
  attestation?: string;
  siteId: string;
  jobId: string;
  round: number;
  submissionId: string;
  numSamples: number;
  byteSize: number;
  sha256: string;
  baseModelId: string;
  /**
   * Semi-asynchronous jobs: the round the update was trained for when it is sent to count in a later
   * round (`round`); 0, absent or equal to `round`: a fresh update.
   */
  baseRound?: number;
}

/** What admitUpdate found: the round the update counts in, and for a late update the round it was trained for. */
export interface Admission {
  round: RoundRow;
  job: JobRow;
  existing: ContributionRow | null;
  late: (Lateness & { base: RoundRow }) | null;
}

export interface MetricsReport {
  /** Train phase: the charge the site's privacy ledger took for this round (recorded as privacy.spend). */
  privacySpend?: PrivacySpendReport | null | undefined;
  siteId: string;
  jobId: string;
  round: number;
  phase: 'train' | 'eval';
  modelRound: number;
  loss: number;
  accuracy: number;
  numSamples: number;
  /**
   * Eval phase: SHA-256 of the float32 LE bytes of the model the site measured ('' or absent: none).
   * Required on an encrypted training job, where it is the only way to know that the sites hold one model.
   */
  paramsSha256?: string | undefined;
}

export interface EngineOptions {
  /** Where every state change and refusal is recorded (required: the audit is not optional). */
  readonly audit: AuditRecorder;
  readonly now?: () => Date;
  /** Largest update accepted, in bytes (a guard against memory exhaustion). */
  readonly maxUpdateBytes?: number;
  /** `production` refuses plaintext jobs, jobs without a trainer allowlist and unsandboxed trainers. */
  readonly env?: 'development' | 'production';
  /** Issues and consumes the per-round attestation nonces. */
  readonly nonces: NonceStore;
  /** Signs and logs a manifest for every stored artifact, in the transaction that stores it. */
  readonly publisher?: ModelPublisher;
  /** How long a round may stay `aggregating` while its close keeps failing, before it fails (default 600 s). */
  readonly aggregationBoundSeconds?: number;
}

/**
 * The round lifecycle: open -> collecting -> aggregating -> closed (or failed). Every transition
 * is one transaction; payloads are written to the blob store before the row that names them, so a
 * crash leaves at worst an unreferenced blob, never a row without its payload.
 */
export class FederationEngine {
  readonly events = new EventEmitter();
  private readonly db: Db;
  private readonly blobs: BlobStore;
  private readonly now: () => Date;
  private readonly maxUpdateBytes: number;
  private readonly jobLocks = new KeyedMutex();
  private readonly audit: AuditRecorder;
  private readonly env: 'development' | 'production';
  private readonly nonces: NonceStore;
  private readonly aggregationBoundMs: number;
  /** Manifests and log evidence of the artifacts (null: a development engine without publishing). */
  readonly publisher: ModelPublisher | null;
  /** Decides, from the site's attestation, whether FetchJobKey may hand over a wrapped key. */
  readonly keyRelease: KeyReleaseGate;
  /** Federated statistics jobs (coordinator/src/statistics). */
  readonly statistics: StatisticsRounds;

  constructor(db: Db, blobs: BlobStore, options: EngineOptions) {
    this.db = db;
    this.blobs = blobs;
    this.audit = options.audit;
    this.env = options.env ?? 'development';
    this.nonces = options.nonces;
    this.publisher = options.publisher ?? null;
    this.now = options.now ?? (() => new Date());
    this.keyRelease = new KeyReleaseGate({ db, nonces: this.nonces, env: this.env, audit: this.audit, now: this.now });
    this.maxUpdateBytes = options.maxUpdateBytes ?? 512 * 1024 * 1024;
    this.aggregationBoundMs = (options.aggregationBoundSeconds ?? 600) * 1000;
    this.statistics = new StatisticsRounds(db, blobs, this.audit, this.env, this.now, {
      record: (tx, by, action, resource, outcome, details, rule) => this.record(tx, by, action, resource, outcome, details, rule),
      openRound: (tx, job, round, kind, input) => this.openRound(tx, job, round, kind, input),
      insertModel: (tx, m) => this.insertModel(tx, m),
      recordRoundClose: (tx, job, round, sha) => this.recordRoundClose(tx, job, round, sha),
      encryptedSettingsOf: (job) => this.encryptedSettingsOf(job),
      storedContributions: (job, round) => this.storedContributions(job, round),
      activeSite: (id) => this.activeSite(id),
      job: (id) => this.job(id),
      changed: () => this.changed(),
    });
    this.events.setMaxListeners(0);
  }

  // ---- sites -------------------------------------------------------------------------------

  async registerSite(id: string, displayName: string, by: Actor = SYSTEM_ACTOR): Promise<SiteRow> {
    const row = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<SiteRow>(
        `INSERT INTO sites (id, display_name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING *`, [id, displayName]);
      if (rows.length === 0) throw new FederationError('SITE_EXISTS', `site ${id} is already registered`);
      await this.record(tx, by, 'site.register', `site:${id}`, 'success', {});
      return rows[0]!;
    });
    this.changed();
    return row;
  }

  async site(id: string): Promise<SiteRow> {
    const { rows } = await this.db.query<SiteRow>('SELECT * FROM sites WHERE id = $1', [id]);
    if (!rows[0]) throw new FederationError('UNKNOWN_SITE', `no site "${id}" is registered at this coordinator`);
    return rows[0];
  }

  async activeSite(id: string): Promise<SiteRow> {
    const s = await this.site(id);
    if (s.status === 'suspended') throw new FederationError('SITE_SUSPENDED', `site ${id} is suspended`);
    if (s.status === 'revoked') throw new FederationError('SITE_REVOKED', `site ${id} was revoked`);
    return s;
  }

  async listSites(): Promise<SiteRow[]> {
    return (await this.db.query<SiteRow>('SELECT * FROM sites ORDER BY id')).rows;
  }

  async enroll(siteId: string, agentVersion: string, schemaDigest: string, keyAgreementJwk?: JWK | null, attestationJwk?: unknown): Promise<SiteRow> {
    await this.activeSite(siteId);
    if (attestationJwk) {
      let key: AttestationPublicJwk;
      try {
        key = parseAttestationPublicJwk(attestationJwk);
      } catch (err) {
        throw new FederationError('VALIDATION_FAILED', `attestation_jwk_json: ${(err as Error).message}`);
      }
      await this.db.query('UPDATE sites SET attestation_jwk = $2 WHERE id = $1', [siteId, JSON.stringify(key)]);
    }
    if (keyAgreementJwk) {
      const k = keyAgreementJwk as Record<string, unknown>;
      if (k.kty !== 'OKP' || k.crv !== 'X25519' || typeof k.x !== 'string' || k.x.length !== 43 || k.d !== undefined || Object.keys(k).some((x) => !['kty', 'crv', 'x'].includes(x))) {
        throw new FederationError('VALIDATION_FAILED', 'key_agreement_jwk must be a public X25519 JWK {kty, crv, x}');
      }
      await this.db.query('UPDATE sites SET key_agreement_jwk = $2 WHERE id = $1', [siteId, JSON.stringify({ kty: 'OKP', crv: 'X25519', x: k.x })]);
    }
    const row = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<SiteRow>(
        `UPDATE sites SET status = 'active', agent_version = $2, last_seen_at = now(),
           last_status = jsonb_build_object('state', 'idle', 'dataSchemaDigest', $3::text)
         WHERE id = $1 RETURNING *`, [siteId, agentVersion, schemaDigest]);
      await this.record(tx, siteActor(siteId), 'site.enroll', `site:${siteId}`, 'success', { client_version: agentVersion });
      return rows[0]!;
    });
    this.changed();
    return row;
  }

  async heartbeat(siteId: string, status: Record<string, unknown>): Promise<void> {
    await this.activeSite(siteId);
    await this.db.query(
      `UPDATE sites SET last_seen_at = now(), last_status = coalesce(last_status, '{}'::jsonb) || $2::jsonb WHERE id = $1`,
      [siteId, JSON.stringify(status)]);
    this.changed();
  }

  // ---- jobs --------------------------------------------------------------------------------

  async createJob(requested: JobSpec, owner: string, by: Actor = { actor: owner, role: 'admin' }): Promise<JobRow> {
    checkSpecConsistency(requested);
    // Strategy refusals keep their own codes (STRATEGY_UNKNOWN, STRATEGY_SETTINGS_INVALID, STRATEGY_NEEDS_PLAINTEXT).
    resolveJobStrategy(requested);
    checkSemiAsyncSpec(requested);
    const sites: SiteRow[] = [];
    for (const siteId of participantsOf(requested)) sites.push(await this.activeSite(siteId));
    const spec = this.withEncryptionSettings(requested);
    const id = `job-${randomUUID()}`;
    const weights = initialWeights(spec.features.length, spec.model.hidden, spec.classes.length, spec.training.seed);
    const initial = await this.storeModel(id, 0, weights);
    const first = spec.standardization === 'federated' ? 0 : 1;
    const created = await this.db.transaction(async (tx) => {
      const encrypted = spec.encryption?.enabled === true;
      const { rows } = await tx.query<JobRow>(
        `INSERT INTO jobs (id, name, owner, spec, status, total_rounds, encrypted) VALUES ($1, $2, $3, $4, 'running', $5, $6) RETURNING *`,
        [id, spec.name, owner, JSON.stringify(spec), spec.rounds, encrypted]);
      if (encrypted) {
        await startCeremony(tx, id, spec, sites);
        await this.record(tx, by, 'key.ceremony.start', `job:${id}`, 'success', {
          ceremony: `${id}.epoch-1`, job: id, sites: participantsOf(spec), participants: participantsOf(spec).length, reason: 'JOB_START',
        });
      }
      for (const s of spec.sites) {
        await tx.query(`INSERT INTO job_sites (job_id, site_id, role) VALUES ($1, $2, 'trainer')`, [id, s]);
      }
      for (const s of spec.evaluators ?? []) {
        await tx.query(`INSERT INTO job_sites (job_id, site_id, role) VALUES ($1, $2, 'evaluator')`, [id, s]);
      }
      await this.insertModel(tx, initial);
      if (!encrypted) await recordStoredModelDigest(tx, id, 0, initial.sha256);
      await this.record(tx, by, 'job.create', `job:${id}`, 'success', {
        job: id, rounds: spec.rounds, sites: participantsOf(spec), encrypted: spec.encryption?.enabled === true, sha256: sha256Hex(JSON.stringify(spec)),
      });
      await this.openRound(tx, rows[0]!, first, first === 0 ? 'stats' : 'train', initial.id);
      return (await tx.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [id])).rows[0]!;
    });
    this.note('round opened', { job: created.id, round: created.current_round, kind: first === 0 ? 'stats' : 'train' });
    this.changed();
    return created;
  }

  async job(id: string): Promise<JobRow> {
    const { rows } = await this.db.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [id]);
    if (!rows[0]) throw new FederationError('UNKNOWN_JOB', `no job "${id}" exists`);
    return rows[0];
  }

  async listJobs(): Promise<JobRow[]> {
    return (await this.db.query<JobRow>('SELECT * FROM jobs ORDER BY created_at DESC')).rows;
  }

  async stopJob(id: string, reason: string, by: Actor = SYSTEM_ACTOR): Promise<JobRow> {
    const job = await this.job(id);
    if (job.status !== 'running') throw new FederationError('JOB_NOT_RUNNING', `job ${id} is ${job.status}`);
    await this.db.transaction(async (tx) => {
      await this.record(tx, by, 'job.stop', `job:${id}`, 'success', { job: id, reason: 'OPERATOR_STOP' });
      await failLiveRounds(tx, id, `stopped: ${reason}`);
      await tx.query(`UPDATE jobs SET status = 'stopped', failure = $2, updated_at = now() WHERE id = $1`, [id, reason]);
    });
    this.changed();
    return this.job(id);
  }

  async rounds(jobId: string): Promise<RoundRow[]> {
    return (await this.db.query<RoundRow>('SELECT * FROM rounds WHERE job_id = $1 ORDER BY round', [jobId])).rows;
  }

  async model(jobId: string, modelId: string): Promise<ModelRow> {
    const { rows } = await this.db.query<ModelRow>('SELECT * FROM models WHERE id = $1 AND job_id = $2', [modelId, jobId]);
    if (!rows[0]) throw new FederationError('UNKNOWN_MODEL', `job ${jobId} has no model "${modelId}"`);
    return rows[0];
  }

  async modelBytes(model: ModelRow): Promise<Buffer> {
    const bytes = await this.blobs.get(model.blob_key);
    if (sha256Hex(bytes) !== model.sha256) {
      throw new FederationError('INTERNAL', `stored model ${model.id} does not match its recorded digest`);
    }
    return bytes;
  }

  // ---- tasks -------------------------------------------------------------------------------

  /** The next piece of work for a site, or null. Asking again returns the same task until it is done. */
  async pollTask(siteId: string): Promise<TaskAssignment | null> {
    await this.activeSite(siteId);
    const { rows } = await this.db.query<JobRow & RoundRow & { task_state: string | null }>(
      `SELECT j.*, r.kind, r.status AS round_status, r.round, r.input_model_id, r.deadline_at, t.state AS task_state
         FROM jobs j
         JOIN job_sites js ON js.job_id = j.id AND js.site_id = $1
         JOIN rounds r ON r.job_id = j.id AND r.round = j.current_round
         LEFT JOIN site_tasks t ON t.job_id = j.id AND t.round = r.round AND t.site_id = $1
        WHERE j.status = 'running' AND r.status IN ('open', 'collecting')
          AND (t.state IS NULL OR t.state = 'assigned')
        ORDER BY j.created_at`, [siteId]);
    for (const row of rows) {
      let encryption: TaskAssignment['encryption'];
      if (row.encrypted) {
        // Every key holder (evaluators too) takes part in the ceremony before any round work.
        const keys = await currentKeys(this.db, row.id);
        const settings = keys ? encryptedSettings(row.spec, keys) : null;
        if (!settings) {
          const keyTask = keys ? keyTaskFor(keys, siteId) : null;
          if (!keyTask) continue; // others are still signing or generating: nothing for this site yet
          return {
            jobId: row.id, round: row.round, duty: 'keys', spec: row.spec, standardization: null, modelId: null, modelSha256: null,
            modelRound: 0, deadline: row.deadline_at, updateLength: 0, keyTask,
          };
        }
        encryption = { ...settings, weight: this.weightOf(row, siteId), ...(await this.publicParamsEvidence(row.id, keys!)) };
      }
      const duty = dutyOf(row.spec, siteId, row.kind);
      if (!duty) continue;
      await this.db.query(
        `INSERT INTO site_tasks (job_id, round, site_id, state) VALUES ($1, $2, $3, 'assigned') ON CONFLICT DO NOTHING`,
        [row.id, row.round, siteId]);
      const model = row.input_model_id && duty !== 'stats' ? await this.model(row.id, row.input_model_id) : null;
      const spec = row.spec;
      const chain = encryption ? await this.modelChain(row.id, model?.round ?? 0) : undefined;
      const attested = duty === 'train' && (row.spec.trainerAllowlist?.length ?? 0) > 0;
      const nonce = attested ? (await this.nonces.issue({ job: row.id, round: row.round, site: siteId })).nonce : undefined;
      return {
        ...(nonce ? { attestationNonce: nonce } : {}),
        ...(encryption ? { encryption, modelChain: chain, ...(await this.statsSumOf(row.id)) } : {}),
        jobId: row.id,
        round: row.round,
        duty: isStatisticsSpec(spec) ? 'stats-query' : duty,
        spec,
        standardization: row.standardization,
        modelId: model?.id ?? null,
        modelSha256: model?.sha256 ?? null,
        modelRound: model?.round ?? 0,
        deadline: row.deadline_at,
        updateLength: duty === 'stats' ? statsVectorLength(spec) : this.paramCountOf(spec),
      };
    }
    return this.statistics.publishTaskFor(siteId);
  }

  // ---- submissions -------------------------------------------------------------------------

  /** Checks everything that can be checked before any byte is read, so a doomed upload fails fast. */
  async admitUpdate(header: UpdateHeader): Promise<Admission> {
    if (!header.submissionId || header.submissionId.length > 128) {
      throw new FederationError('VALIDATION_FAILED', 'submission_id must be 1-128 characters');
    }
    if (!SHA256_HEX.test(header.sha256)) throw new FederationError('VALIDATION_FAILED', 'sha256 must be 64 lowercase hex digits');
    if (!Number.isInteger(header.numSamples) || header.numSamples < 1) {
      throw new FederationError('VALIDATION_FAILED', 'num_samples must be a positive integer');
    }
    if (!Number.isInteger(header.byteSize) || header.byteSize < 1) {
      throw new FederationError('VALIDATION_FAILED', 'byte_size must be a positive integer');
    }
    if (header.byteSize > this.maxUpdateBytes) {
      throw new FederationError('UPDATE_TOO_LARGE', `update of ${header.byteSize} bytes exceeds the limit of ${this.maxUpdateBytes}`);
    }
    const lateness = latenessOf(header);
    await this.activeSite(header.siteId);
    const job = await this.job(header.jobId);
    const { rows: rounds } = await this.db.query<RoundRow>(
      'SELECT * FROM rounds WHERE job_id = $1 AND round = $2', [header.jobId, header.round]);
    const round = rounds[0];
    if (!round) throw new FederationError('ROUND_MISMATCH', `job ${job.id} has no round ${header.round}`);
    const duty = dutyOf(job.spec, header.siteId, round.kind);
    if (duty === null) throw new FederationError('SITE_NOT_IN_JOB', `site ${header.siteId} does not take part in job ${job.id}`);
    const existing = await this.contributionOf(job.id, round.round, header.siteId);
    if (existing) {
      if (existing.id === header.submissionId && existing.sha256 === header.sha256) return { round, job, existing, late: null };
      throw new FederationError('DUPLICATE_SUBMISSION',
        `site ${header.siteId} already submitted for round ${round.round} of job ${job.id} (submission ${existing.id})`);
    }
    if (lateness) {
      if (duty !== 'train') throw new FederationError('ROUND_MISMATCH', `site ${header.siteId} does not train in job ${job.id}; only a training update can count late`);
      const base = await admitLateUpdate(this.db, job, round, header, lateness);
      this.checkUpdateSize(job, round, header);
      return { round, job, existing: null, late: { ...lateness, base } };
    }
    if (job.status !== 'running' || (round.status !== 'open' && round.status !== 'collecting')) {
      // On a semi-asynchronous job the refusal names the open training round, where the site may re-send the update.
      throw await roundClosedError(this.db, job,
        `round ${round.round} of job ${job.id} is ${round.status === 'open' || round.status === 'collecting' ? job.status : round.status}; submissions are no longer accepted`);
    }
    if (duty !== 'train' && duty !== 'stats') {
      throw new FederationError('ROUND_MISMATCH', `site ${header.siteId} evaluates in round ${round.round}; it submits metrics, not an update`);
    }
    if (duty === 'train' && header.baseModelId !== round.input_model_id) {
      throw new FederationError('ROUND_MISMATCH',
        `update was computed from model ${header.baseModelId || '(none)'}, round ${round.round} starts from ${round.input_model_id}`);
    }
    this.checkUpdateSize(job, round, header);
    return { round, job, existing: null, late: null };
  }

  /** A plaintext upload's announced size must be the round's vector size (an encrypted one's is checked on its bytes). */
  private checkUpdateSize(job: JobRow, round: RoundRow, header: UpdateHeader): void {
    const expected = round.kind === 'stats' ? statsVectorLength(job.spec) * 8 : this.paramCountOf(job.spec) * 4;
    if (!job.encrypted && header.byteSize !== expected) {
      throw new FederationError('UPDATE_SIZE_MISMATCH', `round ${round.round} expects ${expected} bytes, header announces ${header.byteSize}`);
    }
  }

  /** Stores a fully received, verified update and records it; idempotent for a retried submission id. */
  async acceptUpdate(header: UpdateHeader, payload: Buffer): Promise<{ contribution: ContributionRow; alreadyAccepted: boolean }> {
    try {
      return await this.storeUpdate(header, payload);
    } catch (err) {
      // The coordinator's own trouble (payload storage full) is an operator's problem, not the site's: reported, and retryable.
      if ((err as { code?: string }).code === 'STORAGE_FULL') this.report(err);
      await this.recordRefusal(header, err);
      throw err;
    }
  }

  /** A refused submission leaves a trace (who, what, why) even though nothing is stored. */
  async recordRefusal(header: Partial<UpdateHeader>, err: unknown): Promise<void> {
    const code = (err as { code?: string }).code ?? 'INTERNAL';
    const siteId = header.siteId && /^[a-z0-9][a-z0-9-]{0,62}$/.test(header.siteId) ? header.siteId : null;
    await this.audit.append({
      actor: siteId ?? 'unknown', role: 'node', site: siteId, action: 'submission.receive',
      resource: header.jobId && /^[A-Za-z0-9._@+-]{1,128}$/.test(header.jobId)
        ? `job:${header.jobId}${Number.isInteger(header.round) ? `/round:${header.round}` : ''}` : 'job',
      outcome: code === 'INTERNAL' || code === 'STORAGE_FULL' ? 'failure' : 'denied', rule: `federation:${code}`,
      details: {
        ...(header.jobId && /^[A-Za-z0-9._@+-]{1,128}$/.test(header.jobId) ? { job: header.jobId } : {}),
        ...(Number.isInteger(header.round) ? { round: header.round! } : {}),
        ...(header.sha256 && SHA256_HEX.test(header.sha256) ? { sha256: header.sha256 } : {}), reason: code,
        ...(code.startsWith('ATTESTATION_') ? { verdict: 'fail' } : {}),
      },
    });
  }

  private async storeUpdate(header: UpdateHeader, payload: Buffer): Promise<{ contribution: ContributionRow; alreadyAccepted: boolean }> {
    const { round, existing, late } = await this.admitUpdate(header);
    if (payload.byteLength !== header.byteSize) {
      throw new FederationError('UPDATE_SIZE_MISMATCH', `announced ${header.byteSize} bytes, received ${payload.byteLength}`);
    }
    const digest = sha256Hex(payload);
    if (digest !== header.sha256) {
      throw new FederationError('UPDATE_DIGEST_MISMATCH', `received bytes hash to ${digest}, header announced ${header.sha256}`);
    }
    if (existing) return { contribution: existing, alreadyAccepted: true };
    const job = await this.job(header.jobId);
    if (job.encrypted) {
      const settings = await this.encryptedSettingsOf(job);
      const kind = round.kind === 'stats' ? 'stats' : 'update';
      await checkEncryptedUpload(settings, kind, kind === 'stats' ? statsVectorLength(job.spec) : this.paramCountOf(job.spec), payload);
    } else {
      try {
        decodeVector(payload, round.kind === 'stats' ? 'float64' : 'float32', header.byteSize / (round.kind === 'stats' ? 8 : 4));
      } catch (err) {
        throw new FederationError('UPDATE_INVALID', (err as Error).message);
      }
    }
    // A late update attests as it would have in the round it was trained for (that task's nonce and input model).
    const verdict = round.kind === 'train' ? await this.checkAttestation(job, late?.base ?? round, header, digest) : null;
    const persistStarted = performance.now();
    const blobKey = `updates/${header.jobId}/${round.round}/${digest}`;
    await this.blobs.put(blobKey, payload);
    let received = 0;
    const contribution = await this.db.transaction(async (tx) => {
      const { rows: locked } = await tx.query<RoundRow>(
        'SELECT * FROM rounds WHERE job_id = $1 AND round = $2 FOR UPDATE', [header.jobId, round.round]);
      const r = locked[0]!;
      if (r.status !== 'open' && r.status !== 'collecting') {
        throw await roundClosedError(tx, job, `round ${r.round} of job ${header.jobId} closed while the update arrived`);
      }
      const { rows: dup } = await tx.query<ContributionRow>(
        'SELECT * FROM contributions WHERE job_id = $1 AND round = $2 AND site_id = $3', [header.jobId, r.round, header.siteId]);
      if (dup[0]) {
        throw new FederationError('DUPLICATE_SUBMISSION', `site ${header.siteId} already submitted for round ${r.round} of job ${header.jobId}`);
      }
      if (late) await refuseCountedTwice(tx, header.jobId, header.siteId, late.baseRound);
      const { rows } = await tx.query<ContributionRow>(
        `INSERT INTO contributions (id, job_id, round, site_id, num_samples, byte_size, sha256, blob_key, base_round)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
        [header.submissionId, header.jobId, r.round, header.siteId, header.numSamples, header.byteSize, digest, blobKey, late?.baseRound ?? null]);
      await this.markTask(tx, header.jobId, r.round, header.siteId, 'submitted', null);
      await tryMoveRound(tx, { jobId: header.jobId, round: r.round }, 'collecting', {}, 'open');
      const { rows: count } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM contributions WHERE job_id = $1 AND round = $2', [header.jobId, r.round]);
      received = count[0]?.n ?? 0;
      // One event per request: the attestation verdict travels in the submission's own event.
      await this.record(tx, siteActor(header.siteId), 'submission.receive', `job:${header.jobId}/round:${r.round}`, 'success', {
        job: header.jobId, round: r.round, sha256: digest, bytes: header.byteSize, samples: header.numSamples,
        ...(verdict ? { verdict: 'pass', measurement: verdict.measurement, key_id: verdict.kid, sandboxed: verdict.sandboxed } : {}),
      });
      return rows[0]!;
    });
    this.events.emit('timing', { phase: 'persist-update', job: header.jobId, round: round.round, ms: performance.now() - persistStarted });
    this.note('update accepted', {
      job: header.jobId, round: round.round, site: header.siteId, received, expected: expectedSites(job.spec, round.kind).length,
      ...(late ? { baseRound: late.baseRound, staleness: late.staleness } : {}),
    });
    this.changed();
    this.advanceSoon(header.jobId);
    return { contribution, alreadyAccepted: false };
  }

  async reportMetrics(m: MetricsReport): Promise<void> {
    if (m.phase !== 'train' && m.phase !== 'eval') throw new FederationError('METRICS_INVALID', 'phase must be "train" or "eval"');
    if (!Number.isFinite(m.loss) || m.loss < 0) throw new FederationError('METRICS_INVALID', 'loss must be a finite number >= 0');
    if (!(m.accuracy >= 0 && m.accuracy <= 1)) throw new FederationError('METRICS_INVALID', 'accuracy must be a fraction in [0, 1]');
    if (!Number.isInteger(m.numSamples) || m.numSamples < 0) throw new FederationError('METRICS_INVALID', 'num_samples must be an integer >= 0');
    // The digest belongs to what an evaluation measured; a train report's is not recorded.
    const digest = m.phase === 'eval' && m.paramsSha256 ? m.paramsSha256 : null;
    if (digest !== null && !SHA256_HEX.test(digest)) throw new FederationError('METRICS_INVALID', 'params_sha256 must be 64 lowercase hex digits');
    await this.activeSite(m.siteId);
    const job = await this.job(m.jobId);
    const { rows } = await this.db.query<RoundRow>('SELECT * FROM rounds WHERE job_id = $1 AND round = $2', [m.jobId, m.round]);
    const round = rows[0];
    if (!round) throw new FederationError('ROUND_MISMATCH', `job ${job.id} has no round ${m.round}`);
    const duty = dutyOf(job.spec, m.siteId, round.kind);
    if (!duty) throw new FederationError('SITE_NOT_IN_JOB', `site ${m.siteId} does not take part in job ${job.id}`);
    const expectedModelRound = round.kind === 'evaluate' ? round.round - 1 : Math.max(0, round.round - 1);
    if (m.phase === 'eval' && m.modelRound !== expectedModelRound) {
      throw new FederationError('METRICS_INVALID', `round ${round.round} evaluates the model of round ${expectedModelRound}, not ${m.modelRound}`);
    }
    const training = !isStatisticsSpec(job.spec);
    if (m.phase === 'eval' && job.encrypted && training && digest === null) {
      // Plaintext jobs tolerate a report without one (the coordinator holds their model); an encrypted job's sites are the only holders.
      throw new FederationError('METRICS_INVALID', `eval reports of encrypted job ${job.id} must carry params_sha256, the digest of the model the site rebuilt and measured`);
    }
    let divergence: ModelDivergence | null = null;
    const repeated = await this.db.transaction(async (tx) => {
      const inserted = await tx.query(
        `INSERT INTO metrics (job_id, round, site_id, phase, model_round, loss, accuracy, num_samples, params_sha256)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
        [m.jobId, m.round, m.siteId, m.phase, m.modelRound, m.loss, m.accuracy, m.numSamples, digest]);
      if (inserted.rowCount === 0) {
        // A retried task sends its report again: the same report is acknowledged (and recorded once), another one is a conflict.
        const { rows: before } = await tx.query<{ model_round: number; loss: number; accuracy: number; num_samples: number; params_sha256: string | null }>(
          'SELECT model_round, loss, accuracy, num_samples, params_sha256 FROM metrics WHERE job_id = $1 AND round = $2 AND site_id = $3 AND phase = $4',
          [m.jobId, m.round, m.siteId, m.phase]);
        const b = before[0];
        if (b && b.model_round === m.modelRound && b.loss === m.loss && b.accuracy === m.accuracy && b.num_samples === m.numSamples
          && b.params_sha256 === digest) {
          // Checked again: a crash after the report committed must not let a divergence go unnoticed.
          if (digest !== null && training) divergence = await checkReportedDigest(tx, job.id, m.modelRound, m.siteId, digest);
          return true;
        }
        throw new FederationError('METRICS_CONFLICT', `site ${m.siteId} already reported different ${m.phase} metrics for round ${m.round} of job ${m.jobId}`);
      }
      if (digest !== null && training) divergence = await checkReportedDigest(tx, job.id, m.modelRound, m.siteId, digest);
      if (duty === 'evaluate' && m.phase === 'eval' && (round.status === 'open' || round.status === 'collecting')) {
        await this.markTask(tx, m.jobId, m.round, m.siteId, 'submitted');
      }
      if (m.privacySpend) {
        // The site's own ledger already charged it; the coordinator's trail records it with the metrics.
        const spend = m.phase === 'train' ? privacySpendEvent(m.siteId, m.jobId, m.round, m.privacySpend) : { problem: 'privacy_spend belongs to train metrics' };
        if ('problem' in spend) throw new FederationError('METRICS_INVALID', spend.problem);
        await this.audit.inTransaction(tx, spend.event);
      }
      return false;
    });
    if (!repeated) this.note('metrics accepted', { job: m.jobId, round: m.round, site: m.siteId, phase: m.phase });
    if (divergence) {
      const found: ModelDivergence = divergence;
      await this.jobLocks.run(job.id, () => this.failDiverged(job.id, found));
      // The report is recorded; the site learns that the job stopped on it, and why.
      throw new StrategyError('ROUND_MODEL_DIVERGED', divergenceMessage(found));
    }
    this.changed();
    this.advanceSoon(m.jobId);
  }

  /**
   * Two reports of one round's model disagree: the sites no longer hold one model (or one of them
   * measured another), so the job stops rather than train on. Idempotent: a job that already ended stays as it is.
   */
  private async failDiverged(jobId: string, d: ModelDivergence): Promise<void> {
    const why = `ROUND_MODEL_DIVERGED: ${divergenceMessage(d)}`;
    const failed = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<JobRow>('SELECT * FROM jobs WHERE id = $1 FOR UPDATE', [jobId]);
      const job = rows[0];
      if (job?.status !== 'running') return false;
      const live = await failLiveRounds(tx, jobId, why, ['open', 'collecting', 'aggregating']);
      await tx.query(`UPDATE jobs SET status = 'failed', failure = $2, updated_at = now() WHERE id = $1`, [jobId, why]);
      for (const r of live) {
        await this.record(tx, SYSTEM_ACTOR, 'round.fail', `job:${jobId}/round:${r.round}`, 'failure',
          { job: jobId, round: r.round, kind: r.kind, reason: 'ROUND_MODEL_DIVERGED' });
      }
      await this.record(tx, SYSTEM_ACTOR, 'job.fail', `job:${jobId}`, 'failure', { job: jobId, reason: 'ROUND_MODEL_DIVERGED' });
      return true;
    });
    if (failed) {
      this.note('job failed', { job: jobId, reason: 'ROUND_MODEL_DIVERGED', why });
      this.changed();
    }
  }

  /** Records a site's job approval (or its refusal of an unapproved job) in the audit trail; nothing else changes. */
  async reportJobApproval(report: SiteApprovalReport): Promise<void> {
    const event = siteApprovalEvent(report);
    await this.activeSite(report.siteId);
    const job = await this.job(report.jobId);
    if (!participantsOf(job.spec).includes(report.siteId)) throw new FederationError('SITE_NOT_IN_JOB', `site ${report.siteId} does not take part in job ${report.jobId}`);
    await this.audit.append(event);
  }

  /** Records that a site failed its task (it explains why); the round goes on without it. */
  async reportFailure(siteId: string, jobId: string, round: number, detail: string): Promise<void> {
    const job = await this.job(jobId);
    if (!dutyOf(job.spec, siteId, 'evaluate')) throw new FederationError('SITE_NOT_IN_JOB', `site ${siteId} does not take part in job ${jobId}`);
    const { rows: exists } = await this.db.query('SELECT 1 FROM rounds WHERE job_id = $1 AND round = $2', [jobId, round]);
    if (exists.length === 0) throw new FederationError('ROUND_MISMATCH', `job ${jobId} has no round ${round}`);
    if (detail.startsWith('HE_SITE_LIST_UNSIGNED')) {
      // A key-ceremony step that waits for the steward's approval of the site list is no failure of
      // the round: the step stays pending until the steward approves (waiting.ts shows whom it waits for).
      this.changed();
      return;
    }
    if (detail.startsWith('SANDBOX_BREACH')) {
      // The agent killed its trainer for a breach (network attempt, write outside scratch, limits):
      // an anomaly for the compliance report, recorded before the round moves on.
      const kind = /\b(memory|cpu|wall|network|write|read|fork|exit)\b/.exec(detail)?.[1]?.toUpperCase() ?? 'UNKNOWN';
      await this.audit.append({
        actor: siteId, role: 'node', site: siteId, action: 'sandbox.breach', resource: `job:${jobId}/round:${round}`,
        outcome: 'failure', rule: 'sandbox:breach-is-fatal', details: { job: jobId, round, reason: `BREACH_${kind}` },
      });
    }
    await this.db.query(
      `INSERT INTO site_tasks (job_id, round, site_id, state, detail) VALUES ($1, $2, $3, 'failed', $4)
       ON CONFLICT (job_id, round, site_id) DO UPDATE SET state = 'failed', detail = $4, updated_at = now()
       WHERE site_tasks.state <> 'submitted'`, [jobId, round, siteId, detail.slice(0, 2000)]);
    if (isStatisticsSpec(job.spec)) await this.statistics.recordRefusal(siteId, jobId, detail);
    this.changed();
    this.advanceSoon(jobId);
  }

  // ---- round progression -------------------------------------------------------------------

  /** Moves a job forward when its current round is complete or past its deadline. Safe to call any time. */
  async advance(jobId: string): Promise<void> {
    await this.jobLocks.run(jobId, async () => {
      const job = await this.job(jobId);
      if (job.status !== 'running') return;
      const { rows } = await this.db.query<RoundRow>('SELECT * FROM rounds WHERE job_id = $1 AND round = $2', [jobId, job.current_round]);
      const round = rows[0];
      if (!round) return;
      if (round.status === 'aggregating') return this.closeOrExclude(job, round);
      // A statistics job waits on its publishing site after the round closed; its deadline is checked here.
      if (round.status === 'closed' && isStatisticsSpec(job.spec)) return this.statistics.checkPublishDeadline(job);
      if (round.status !== 'open' && round.status !== 'collecting') return;
      const expected = expectedSites(job.spec, round.kind);
      const { rows: tasks } = await this.db.query<{ site_id: string; state: string; detail: string | null }>(
        'SELECT site_id, state, detail FROM site_tasks WHERE job_id = $1 AND round = $2', [jobId, round.round]);
      const submitted = new Set(tasks.filter((t) => t.state === 'submitted').map((t) => t.site_id));
      const failed = new Set(tasks.filter((t) => t.state === 'failed').map((t) => t.site_id));
      const trainersDone = job.spec.sites.filter((s) => submitted.has(s)).length;
      const allSettled = expected.every((s) => submitted.has(s) || failed.has(s));
      const pastDeadline = this.now() >= round.deadline_at;
      const quorum = round.kind === 'evaluate' ? 1 : job.spec.minSites;
      const have = round.kind === 'evaluate' ? submitted.size : trainersDone;
      // A semi-asynchronous training round closes at its first closeAfter updates, not waiting for the rest.
      if (!allSettled && !pastDeadline && !closesEarly(job.spec, round, trainersDone)) return;
      if (have >= quorum) {
        // Guarded: a round another worker already moved on is left to it.
        const marked = await tryMoveRound(this.db, { jobId, round: round.round }, 'aggregating', {}, ['open', 'collecting']);
        if (!marked) return;
        this.note('round aggregating', { job: jobId, round: round.round, contributors: have });
        this.changed();
        return this.closeOrExclude(job, marked);
      }
      const missing = expected.filter((s) => !submitted.has(s));
      // A site whose stored upload was corrupted and that did not resend in time: the round fails for that precise reason.
      const corrupted = new Set(tasks.filter((t) => t.state === 'assigned' && t.detail?.startsWith('CONTRIBUTION_CORRUPTED')).map((t) => t.site_id));
      const why = `round ${round.round} ${pastDeadline ? 'passed its deadline' : 'cannot complete'} with ${have}/${quorum} required sites; `
        + `missing: ${missing.map((s) => (failed.has(s) ? `${s} (failed)` : corrupted.has(s) ? `${s} (stored update corrupted, not resent in time)` : s)).join(', ')}`;
      await this.failJob(job, round, why, corrupted.size > 0 ? 'CONTRIBUTION_CORRUPTED' : 'QUORUM_NOT_MET');
    });
  }

  /** Re-checks every running job (deadlines) and resumes rounds interrupted while aggregating. */
  async tick(): Promise<void> {
    await this.dropSuspendedSites().catch((err: unknown) => this.reportUnlessUnavailable(err));
    const { rows } = await this.db.query<{ id: string }>(`SELECT id FROM jobs WHERE status = 'running'`);
    for (const r of rows) await this.advance(r.id).catch((err: unknown) => this.reportUnlessUnavailable(err));
  }

  /** Advances a job in the background (after a submission): a failure is reported, never left unhandled. */
  private advanceSoon(jobId: string): void {
    this.advance(jobId).catch((err: unknown) => {
      // The round loop retries (and backs off) while the database or the lease is away.
      if (!isRetryLater(err)) this.report(err);
    });
  }

  /** A failure of background work: to the `problem` listeners (the server logs them at error level). */
  private report(err: unknown): void {
    this.events.emit('problem', err);
  }

  /** Inside the round loop: an unreachable database (or a lost lease) stops the pass, so the loop backs off. */
  private reportUnlessUnavailable(err: unknown): void {
    if (isRetryLater(err)) throw err;
    this.report(err);
  }

  /**
   * Closes an aggregating round. A stored upload found corrupted is excluded and its site asked to
   * resend; a round that still cannot be closed after the aggregation bound fails
   * (AGGREGATION_FAILED), so no round stays `aggregating` for ever. An unreachable database or a
   * lost lease is not the round's fault: the round loop retries once they are back.
   */
  private async closeOrExclude(job: JobRow, round: RoundRow): Promise<void> {
    try {
      await this.close(job, round);
    } catch (err) {
      if (err instanceof CorruptedContributionError) return this.excludeCorrupted(job, round, err);
      if (isRetryLater(err)) throw err;
      const since = round.aggregating_since ?? null;
      if (since && this.now().getTime() - new Date(since).getTime() > this.aggregationBoundMs) {
        const code = (err as { code?: string }).code ?? 'INTERNAL';
        this.report(err);
        return this.failJob(job, round, `round ${round.round} could not be aggregated within ${Math.round(this.aggregationBoundMs / 1000)} s: ${code}: ${(err as Error).message}`, 'AGGREGATION_FAILED');
      }
      throw err;
    }
  }

  /**
   * Drops one corrupted contribution from an aggregating round: its row and payload go, the event is
   * audited, the round collects again and the site's task is handed out again, so the site resends
   * the bytes it kept (node agent journal) while the deadline allows. At the deadline the round closes
   * with what is intact, or fails as CONTRIBUTION_CORRUPTED when that is below the quorum.
   */
  private async excludeCorrupted(job: JobRow, round: RoundRow, err: CorruptedContributionError): Promise<void> {
    const { rows: dropped } = await this.db.transaction(async (tx) => {
      const { rows: locked } = await tx.query<RoundRow>('SELECT * FROM rounds WHERE job_id = $1 AND round = $2 FOR UPDATE', [job.id, round.round]);
      if (locked[0]?.status !== 'aggregating') return { rows: [] };
      const removed = await tx.query<ContributionRow>('DELETE FROM contributions WHERE id = $1 AND job_id = $2 AND round = $3 RETURNING *',
        [err.contributionId, job.id, round.round]);
      await tx.query(
        `UPDATE site_tasks SET state = 'assigned', detail = $4, updated_at = now() WHERE job_id = $1 AND round = $2 AND site_id = $3`,
        [job.id, round.round, err.siteId, `CONTRIBUTION_CORRUPTED: ${err.message}`.slice(0, 2000)]);
      await moveRound(tx, { jobId: job.id, round: round.round }, 'collecting', {}, 'aggregating');
      await this.record(tx, SYSTEM_ACTOR, 'submission.exclude', `job:${job.id}/round:${round.round}`, 'failure', {
        job: job.id, round: round.round, site: err.siteId, reason: 'CONTRIBUTION_CORRUPTED', ...(removed.rows[0] ? { sha256: removed.rows[0].sha256 } : {}),
      }, 'federation:integrity');
      return removed;
    });
    if (dropped[0]) await this.blobs.delete(dropped[0].blob_key).catch((e: unknown) => this.report(e));
    this.note('contribution excluded', { job: job.id, round: round.round, site: err.siteId, reason: 'CONTRIBUTION_CORRUPTED' });
    this.changed();
  }

  private async close(job: JobRow, round: RoundRow): Promise<void> {
    if (round.kind === 'stats' && isStatisticsSpec(job.spec)) return this.statistics.closeRound(job, round);
    if (round.kind === 'stats') return this.closeStatsRound(job, round);
    if (round.kind === 'train') return this.closeTrainRound(job, round);
    await this.db.transaction(async (tx) => {
      await moveRound(tx, { jobId: job.id, round: round.round }, 'closed', {}, 'aggregating');
      await tx.query(`UPDATE jobs SET status = 'completed', updated_at = now() WHERE id = $1`, [job.id]);
      await this.recordRoundClose(tx, job, round, null);
      await this.record(tx, SYSTEM_ACTOR, 'job.complete', `job:${job.id}`, 'success', { job: job.id, rounds: job.total_rounds });
    });
    this.noteRoundClosed(job, round, null);
    this.changed();
  }

  private async closeStatsRound(job: JobRow, round: RoundRow): Promise<void> {
    if (job.encrypted) return this.closeEncryptedStatsRound(job, round);
    // What an encrypted job's sites decrypt, bit for bit: each site's statistics rounded to exact
    // limbs and summed, then the sites' own formula; a plaintext twin standardises identically.
    const sum = new ExactStatisticsSum(featureStatsLength(job.spec));
    const counts: Record<string, number> = {};
    for await (const c of this.contributions(job, round, 'float64')) {
      sum.add(c.update);
      counts[c.siteId] = c.numSamples;
    }
    const standardization = standardizationOf(sum.sums(), job.spec.features.length);
    if (typeof standardization === 'string') return this.failJob(job, round, `federated standardisation failed: ${standardization}`, 'AGGREGATION_FAILED');
    const { mean, std } = standardization;
    await this.db.transaction(async (tx) => {
      await moveRound(tx, { jobId: job.id, round: round.round }, 'closed', {}, 'aggregating');
      // The sites' weights from here on, as an encrypted job announces them (weightOf).
      await tx.query(`UPDATE jobs SET standardization = $2, sample_counts = $3, updated_at = now() WHERE id = $1`,
        [job.id, JSON.stringify({ mean, std }), JSON.stringify(counts)]);
      await this.recordRoundClose(tx, job, round, null);
      await this.openRound(tx, job, 1, 'train', round.input_model_id);
    });
    this.noteRoundClosed(job, round, { round: 1, kind: 'train' });
    this.changed();
  }

  private async closeTrainRound(job: JobRow, round: RoundRow): Promise<void> {
    if (job.encrypted) return this.closeEncryptedTrainRound(job, round);
    const aggregateStarted = performance.now();
    const input = await this.model(job.id, round.input_model_id!);
    const global = decodeVector(await this.modelBytes(input), 'float32', input.param_count);
    const result = await runPlaintextRound({
      strategy: resolveJobStrategy(job.spec),
      global,
      state: await loadServerState(this.blobs, job.id, { key: job.strategy_state_key, sha256: job.strategy_state_sha256 }),
      fracBits: encodingFracBits(job.spec),
      weightOf: (siteId) => this.weightOf(job, siteId),
      updates: this.plaintextUpdates(job, round),
    });
    const persistStarted = performance.now();
    // Both blobs before the transaction that names them: a crash in between leaves orphans, never a dangling reference.
    const model = await this.storeModel(job.id, round.round, result.global);
    const state = await storeServerState(this.blobs, job.id, round.round, result.state);
    const last = round.round >= job.total_rounds;
    await this.db.transaction(async (tx) => {
      await this.insertModel(tx, model);
      await recordStoredModelDigest(tx, job.id, round.round, model.sha256);
      await moveRound(tx, { jobId: job.id, round: round.round }, 'closed', { outputModelId: model.id }, 'aggregating');
      await tx.query(`UPDATE jobs SET strategy_state_key = $2, strategy_state_sha256 = $3, updated_at = now() WHERE id = $1`,
        [job.id, state?.key ?? null, state?.sha256 ?? null]);
      await this.recordRoundClose(tx, job, round, model.sha256);
      await this.openRound(tx, job, round.round + 1, last ? 'evaluate' : 'train', model.id);
    });
    this.noteRoundClosed(job, round, { round: round.round + 1, kind: last ? 'evaluate' : 'train' });
    this.events.emit('timing', {
      phase: 'round-closed', job: job.id, round: round.round, contributors: result.contributors.length,
      aggregateMs: persistStarted - aggregateStarted, persistMs: performance.now() - persistStarted,
    });
    this.changed();
  }

  /** A round's stored uploads, one at a time (memory O(model)), each checked against its recorded digest. */
  private async *storedContributions(job: JobRow, round: RoundRow): AsyncGenerator<{ row: ContributionRow; bytes: Buffer }> {
    const { rows } = await this.db.query<ContributionRow>(
      'SELECT * FROM contributions WHERE job_id = $1 AND round = $2 ORDER BY site_id', [job.id, round.round]);
    for (const row of rows) {
      let bytes: Buffer;
      try {
        bytes = await this.blobs.get(row.blob_key);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'ENOENT' || code === 'BLOB_NOT_FOUND' || code === 'BLOB_DIGEST_MISMATCH') throw new CorruptedContributionError(row, code === 'BLOB_DIGEST_MISMATCH' ? 'no longer matches its digest' : 'is missing from the blob store');
        throw err;
      }
      if (sha256Hex(bytes) !== row.sha256) throw new CorruptedContributionError(row, 'no longer matches its digest');
      yield { row, bytes };
    }
  }

  private async *contributions(job: JobRow, round: RoundRow, type: 'float32' | 'float64'): AsyncGenerator<{ siteId: string; numSamples: number; update: Float32Array | Float64Array }> {
    for await (const { row, bytes } of this.storedContributions(job, round)) {
      const update = decodeVector(bytes, type, bytes.byteLength / (type === 'float32' ? 4 : 8));
      yield { siteId: row.site_id, numSamples: row.num_samples, update };
    }
  }

  /** A plaintext training round's deltas, in the order an encrypted close sums its uploads (by site id). */
  private async *plaintextUpdates(job: JobRow, round: RoundRow): AsyncGenerator<PlaintextUpdate> {
    for await (const { row, bytes } of this.storedContributions(job, round)) {
      yield { siteId: row.site_id, update: decodeVector(bytes, 'float32', bytes.byteLength / 4), staleness: stalenessOf(row) };
    }
  }

  private async failJob(job: JobRow, round: RoundRow, why: string, reason: 'QUORUM_NOT_MET' | 'CONTRIBUTION_CORRUPTED' | 'AGGREGATION_FAILED' = 'QUORUM_NOT_MET'): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tryMoveRound(tx, { jobId: job.id, round: round.round }, 'failed', { failure: why });
      await tx.query(`UPDATE jobs SET status = 'failed', failure = $2, updated_at = now() WHERE id = $1`, [job.id, why]);
      await this.record(tx, SYSTEM_ACTOR, 'round.fail', `job:${job.id}/round:${round.round}`, 'failure',
        { job: job.id, round: round.round, kind: round.kind, reason });
      await this.record(tx, SYSTEM_ACTOR, 'job.fail', `job:${job.id}`, 'failure', { job: job.id, reason });
    });
    this.note('job failed', { job: job.id, round: round.round, reason, why });
    this.changed();
  }

  private async openRound(tx: Queryable, job: JobRow, round: number, kind: RoundKind, inputModelId: string | null) {
    const deadline = new Date(this.now().getTime() + job.spec.roundDeadlineSeconds * 1000);
    await tx.query(
      `INSERT INTO rounds (job_id, round, kind, status, input_model_id, deadline_at) VALUES ($1, $2, $3, 'open', $4, $5)`,
      [job.id, round, kind, inputModelId, deadline]);
    await tx.query(`UPDATE jobs SET current_round = $2, updated_at = now() WHERE id = $1`, [job.id, round]);
    await this.record(tx, SYSTEM_ACTOR, 'round.open', `job:${job.id}/round:${round}`, 'success', {
      job: job.id, round, kind, sites: participantsOf(job.spec),
    });
  }

  private async recordRoundClose(tx: Queryable, job: JobRow, round: RoundRow, modelSha256: string | null): Promise<void> {
    const { rows } = await tx.query<{ site_id: string }>(
      'SELECT site_id FROM contributions WHERE job_id = $1 AND round = $2 ORDER BY site_id', [job.id, round.round]);
    await this.record(tx, SYSTEM_ACTOR, 'round.close', `job:${job.id}/round:${round.round}`, 'success', {
      job: job.id, round: round.round, kind: round.kind, sites: rows.map((r) => r.site_id),
      ...(modelSha256 ? { sha256: modelSha256 } : {}),
    });
  }

  private record(tx: Queryable, by: Actor, action: string, resource: string, outcome: 'success' | 'denied' | 'failure',
    details: Record<string, string | number | boolean | string[]>, rule?: string): Promise<void> {
    return this.audit.inTransaction(tx, {
      actor: by.actor, role: by.role, site: by.site ?? null, request_id: by.requestId ?? null,
      action, resource, outcome, rule: rule ?? by.rule ?? 'federation:lifecycle', details,
    });
  }

  private async markTask(tx: Queryable, jobId: string, round: number, siteId: string, state: 'submitted' | 'failed', detail?: string | null) {
    // `detail` undefined keeps what the task said; null clears it (a resent upload supersedes CONTRIBUTION_CORRUPTED).
    await tx.query(
      `INSERT INTO site_tasks (job_id, round, site_id, state, detail) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (job_id, round, site_id) DO UPDATE SET state = $4, updated_at = now(),
         detail = CASE WHEN $6::boolean THEN $5 ELSE site_tasks.detail END`,
      [jobId, round, siteId, state, detail ?? null, detail !== undefined]);
  }

  private async contributionOf(jobId: string, round: number, siteId: string): Promise<ContributionRow | null> {
    const { rows } = await this.db.query<ContributionRow>(
      'SELECT * FROM contributions WHERE job_id = $1 AND round = $2 AND site_id = $3', [jobId, round, siteId]);
    return rows[0] ?? null;
  }

  // ---- attestation -------------------------------------------------------------------------

  /**
   * An update from a job with a trainer allowlist is accepted only with an attestation that
   * verifies: signed by the site's registered attestation key, an allowlisted trainer measurement,
   * this round's fresh nonce, the digest of exactly the bytes that arrived and (in production) a
   * real sandbox. A failed verdict is refused with its own code and audited as the submission's event.
   */
  private async checkAttestation(job: JobRow, round: RoundRow, header: UpdateHeader, digest: string): Promise<{ measurement: string; kid: string; sandboxed: boolean } | null> {
    const { rows: admitted } = await this.db.query<{ measurement: string }>('SELECT measurement FROM job_trainers WHERE job_id = $1', [job.id]);
    const allowlist = [...(job.spec.trainerAllowlist ?? []), ...admitted.map((a) => a.measurement)];
    if (allowlist.length === 0) return null; // development job without attestation (production refuses such jobs at creation)
    const site = await this.site(header.siteId);
    const input = round.input_model_id ? await this.model(job.id, round.input_model_id) : null;
    // A refusal throws its own code; recordRefusal makes it the submission's one denied event (verdict fail).
    const v = await verifyAttestation(header.attestation ?? '', {
      nodeKeys: new Map([[site.id, site.attestation_jwk ? [site.attestation_jwk as unknown as AttestationPublicJwk] : []]]),
      allowlist,
      expected: { site: site.id, job: job.id, round: round.round, updateSha256: digest, manifestDigest: input ? ((await this.publisher?.manifestDigestOf(input.id)) ?? input.sha256) : '' },
      nonces: this.nonces,
      env: this.env,
      now: this.now(),
    });
    return { measurement: v.claims.trainerDigest, kid: v.kid, sandboxed: v.claims.sandboxed };
  }

  /**
   * Adds a trainer build to a job's allowlist only if the supply-chain gate allows (or warns
   * about) it in this coordinator's environment; a `stop` is refused with every trigger, and
   * either way the decision is audited.
   */
  async admitTrainer(jobId: string, req: TrainerAdmissionRequest, by: Actor) {
    const job = await this.job(jobId);
    const { measurement, decision } = await evaluateTrainerAdmission(req, this.env);
    const triggers = decision.triggers.filter((t) => !t.exemptedBy).map((t) => `${t.gate}/${t.trigger}: ${t.message}`);
    if (decision.decision === 'stop') {
      await this.audit.append({
        actor: by.actor, role: by.role, site: by.site ?? null, request_id: by.requestId ?? null, action: 'trainer.admit',
        resource: `job:${job.id}`, outcome: 'denied', rule: 'gate:stop', details: { job: job.id, sha256: measurement, reason: 'GATE_STOP' },
      });
      throw new FederationError('TRAINER_REFUSED', `the supply-chain gate stopped this trainer build: ${triggers.join('; ')}`, { triggers: decision.triggers });
    }
    await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO job_trainers (job_id, measurement, artifact_digest, decision, admitted_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (job_id, measurement) DO UPDATE SET decision = $4, admitted_at = now()`,
        [job.id, measurement, decision.artifactDigest, JSON.stringify(decision), by.actor]);
      await this.record(tx, by, 'trainer.admit', `job:${job.id}`, 'success', { job: job.id, sha256: measurement }, `gate:${decision.decision}`);
      // Sites and auditors see the allowlist in force as a signed manifest in the job's chain.
      const { rows: admitted } = await tx.query<{ measurement: string }>('SELECT measurement FROM job_trainers WHERE job_id = $1', [job.id]);
      await this.publisher?.onTrainerAllowlistChanged(tx, {
        jobId: job.id, round: job.current_round, measurements: [...(job.spec.trainerAllowlist ?? []), ...admitted.map((a) => a.measurement)],
      });
    });
    return { measurement, decision: decision.decision, triggers };
  }

  // ---- encrypted jobs ----------------------------------------------------------------------

  private withEncryptionSettings(spec: JobSpec): JobSpec {
    if (this.env === 'production' && (spec.trainerAllowlist?.length ?? 0) === 0) {
      throw new FederationError('JOB_SPEC_INVALID', 'this coordinator runs in production: a job needs a trainer allowlist (trainerAllowlist: admitted trainer build digests)');
    }
    const enc = spec.encryption;
    if (!enc?.enabled) {
      if (this.env === 'production') {
        throw new FederationError('JOB_SPEC_INVALID', 'this coordinator runs in production: plaintext jobs are refused (encryption.enabled must be true)');
      }
      // The precision its encrypted twin would have, fixed at creation as on an encrypted job.
      return enc ? { ...spec, encryption: { ...enc, fracBits: encodingFracBits(spec) } } : spec;
    }
    if (spec.sites.length < MIN_ENCRYPTED_SITES) {
      throw new FederationError('JOB_SPEC_INVALID', `encrypted jobs need at least ${MIN_ENCRYPTED_SITES} training sites (with two, each learns the other's update); this job lists ${spec.sites.length}`);
    }
    if (spec.minSites < MIN_ENCRYPTED_SITES) {
      throw new FederationError('JOB_SPEC_INVALID', `encrypted jobs need minSites >= ${MIN_ENCRYPTED_SITES}: a sum of fewer updates would be decrypted`);
    }
    return { ...spec, encryption: { ...enc, fracBits: encodingFracBits(spec) } };
  }

  private paramCountOf(spec: JobSpec): number {
    return parameterCount(spec.features.length, spec.model.hidden, spec.classes.length);
  }

  private async encryptedSettingsOf(job: JobRow): Promise<EncryptedSettingsForJob> {
    const keys = await currentKeys(this.db, job.id);
    const settings = keys ? encryptedSettings(job.spec, keys) : null;
    if (!settings) throw new FederationError('ROUND_MISMATCH', `job ${job.id} has no keys yet; its key ceremony is still running`);
    return settings;
  }

  /** The public parameters of the task's epoch and their manifest, once it is in the log (none without publishing). */
  private async publicParamsEvidence(jobId: string, keys: { epoch: number; public_params: HePublicParams | null }) {
    if (!this.publisher || !keys.public_params) return {};
    const manifest = await this.publisher.manifestOf(`he-params-${jobId}-e${keys.epoch}`).catch(() => null);
    return manifest ? { publicParams: keys.public_params, publicParamsManifest: manifest.jws } : {};
  }

  /** A site's share of the training samples (from the statistics round), or an equal share without one. */
  private weightOf(job: JobRow, siteId: string): number {
    const counts = job.sample_counts;
    // A site that joined after the statistics round has no count: equal shares keep it in the average.
    if (!counts || job.spec.sites.some((id) => counts[id] === undefined)) return 1 / job.spec.sites.length;
    const total = job.spec.sites.reduce((s, id) => s + (counts[id] ?? 0), 0);
    return total > 0 ? (counts[siteId] ?? 0) / total : 1 / job.spec.sites.length;
  }

  private async modelChain(jobId: string, uptoRound: number): Promise<ChainLink[]> {
    const { rows } = await this.db.query<ModelRow & { key_id: string | null }>(
      `SELECT m.*, k.public_params->>'keyId' AS key_id FROM models m LEFT JOIN job_keys k ON k.job_id = m.job_id AND k.epoch = m.key_epoch
        WHERE m.job_id = $1 AND m.round <= $2 AND m.kind IN ('weights', 'update-sum') ORDER BY m.round`, [jobId, uptoRound]);
    return rows.map(link);
  }

  private async statsSumOf(jobId: string): Promise<{ statsSum?: ChainLink }> {
    const { rows } = await this.db.query<ModelRow & { key_id: string | null }>(
      `SELECT m.*, k.public_params->>'keyId' AS key_id FROM models m LEFT JOIN job_keys k ON k.job_id = m.job_id AND k.epoch = m.key_epoch
        WHERE m.job_id = $1 AND m.kind = 'stats-sum'`, [jobId]);
    return rows[0] ? { statsSum: link(rows[0]) } : {};
  }

  private async *encryptedUploads(job: JobRow, round: RoundRow): AsyncGenerator<{ siteId: string; bytes: Uint8Array }> {
    for await (const { row, bytes } of this.storedContributions(job, round)) yield { siteId: row.site_id, bytes };
  }

  private async storeSum(job: JobRow, round: number, kind: 'update-sum' | 'stats-sum', bytes: Uint8Array, contributors: string[], totalWeight: number | null,
    epoch: number): Promise<ModelRow> {
    const sha256 = sha256Hex(bytes);
    const blobKey = `models/${job.id}/${kind}-${round}-${sha256}`;
    await this.blobs.put(blobKey, bytes);
    return {
      id: `${kind === 'stats-sum' ? 'stats' : 'sum'}-${job.id.slice(4, 12)}-r${round}-${sha256.slice(0, 12)}`,
      job_id: job.id, round, param_count: kind === 'stats-sum' ? featureStatsLength(job.spec) : this.paramCountOf(job.spec),
      byte_size: bytes.byteLength, sha256, blob_key: blobKey, encrypted: true, kind, total_weight: totalWeight, contributors,
      key_epoch: epoch, created_at: this.now(),
    };
  }

  private async closeEncryptedStatsRound(job: JobRow, round: RoundRow): Promise<void> {
    const settings = await this.encryptedSettingsOf(job);
    const { bytes, contributors } = await sumEncrypted(settings, 'stats', featureStatsLength(job.spec), this.encryptedUploads(job, round));
    const model = await this.storeSum(job, round.round, 'stats-sum', bytes, contributors, null, settings.epoch);
    const { rows } = await this.db.query<{ site_id: string; num_samples: number }>(
      'SELECT site_id, num_samples FROM contributions WHERE job_id = $1 AND round = $2', [job.id, round.round]);
    const counts = Object.fromEntries(rows.map((r) => [r.site_id, r.num_samples]));
    await this.db.transaction(async (tx) => {
      await this.insertModel(tx, model);
      await moveRound(tx, { jobId: job.id, round: round.round }, 'closed', { outputModelId: model.id }, 'aggregating');
      await tx.query(`UPDATE jobs SET sample_counts = $2, updated_at = now() WHERE id = $1`, [job.id, JSON.stringify(counts)]);
      await this.recordRoundClose(tx, job, round, model.sha256);
      await this.openRound(tx, job, 1, 'train', round.input_model_id);
    });
    this.noteRoundClosed(job, round, { round: 1, kind: 'train' });
    this.changed();
  }

  private async closeEncryptedTrainRound(job: JobRow, round: RoundRow): Promise<void> {
    const aggregateStarted = performance.now();
    const settings = await this.encryptedSettingsOf(job);
    const { bytes, contributors } = await sumEncrypted(settings, 'update', this.paramCountOf(job.spec), this.encryptedUploads(job, round));
    const persistStarted = performance.now();
    // Each contribution at the weight its site encrypted with: a late one's share discounted for its staleness.
    const staleness = await stalenessBySite(this.db, job.id, round.round);
    const totalWeight = totalWeightOf(contributors.map((siteId) => ({ siteId, staleness: staleness.get(siteId) ?? 0 })), (id) => this.weightOf(job, id));
    const model = await this.storeSum(job, round.round, 'update-sum', bytes, contributors, totalWeight, settings.epoch);
    const last = round.round >= job.total_rounds;
    await this.db.transaction(async (tx) => {
      await this.insertModel(tx, model);
      await moveRound(tx, { jobId: job.id, round: round.round }, 'closed', { outputModelId: model.id }, 'aggregating');
      await this.recordRoundClose(tx, job, round, model.sha256);
      await this.openRound(tx, job, round.round + 1, last ? 'evaluate' : 'train', model.id);
    });
    this.noteRoundClosed(job, round, { round: round.round + 1, kind: last ? 'evaluate' : 'train' });
    this.events.emit('timing', {
      phase: 'round-closed', job: job.id, round: round.round, contributors: contributors.length, encrypted: true,
      aggregateMs: persistStarted - aggregateStarted, persistMs: performance.now() - persistStarted,
    });
    this.changed();
  }

  /** A steward's signature of the job's site list (first step of the key ceremony). */
  async submitSiteListSignature(siteId: string, jobId: string, jws: string): Promise<void> {
    await this.activeSite(siteId);
    await this.db.transaction(async (tx) => {
      const keys = await currentKeys(tx, jobId);
      if (!keys) throw new FederationError('UNKNOWN_JOB', `job ${jobId} has no key ceremony`);
      await tx.query('SELECT 1 FROM job_keys WHERE job_id = $1 AND epoch = $2 FOR UPDATE', [jobId, keys.epoch]);
      const fresh = (await currentKeys(tx, jobId))!;
      await acceptSignature(tx, fresh, siteId, jws);
    });
    this.changed();
  }

  /** The generating site's public parameters and wrapped keys (last step of the key ceremony). */
  async submitKeyMaterial(siteId: string, jobId: string, publicParams: HePublicParams, wrappedKeys: Record<string, string>, historyKeys?: unknown): Promise<void> {
    await this.activeSite(siteId);
    await this.db.transaction(async (tx) => {
      const keys = await currentKeys(tx, jobId);
      if (!keys) throw new FederationError('UNKNOWN_JOB', `job ${jobId} has no key ceremony`);
      await tx.query('SELECT 1 FROM job_keys WHERE job_id = $1 AND epoch = $2 FOR UPDATE', [jobId, keys.epoch]);
      const fresh = (await currentKeys(tx, jobId))!;
      if (fresh.epoch !== keys.epoch) throw new FederationError('ROUND_MISMATCH', `epoch ${keys.epoch} of job ${jobId} was superseded while its keys arrived`);
      await acceptKeyMaterial(tx, fresh, siteId, publicParams, wrappedKeys, historyKeys);
      await this.record(tx, siteActor(siteId), 'key.ceremony', `job:${jobId}`, 'success', {
        ceremony: `${jobId}.epoch-${keys.epoch}`, key_id: publicParams.keyId, participants: keys.site_list.sites.length, reason: fresh.reason,
      });
      const { rows: jobRows } = await tx.query<{ current_round: number }>('SELECT current_round FROM jobs WHERE id = $1', [jobId]);
      await this.publisher?.onPublicParamsStored(tx, { jobId, epoch: fresh.epoch, round: jobRows[0]?.current_round ?? 0, publicParams });
    });
    this.changed();
  }

  /** Hands a site its wrapped key (only it can unwrap it). */
  async wrappedKeyFor(siteId: string, jobId: string, release?: KeyReleaseVerdict, epoch = 0): Promise<{ epoch: number; paramSet: string; keyId: string; jwe: string }> {
    await this.activeSite(siteId);
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new FederationError('VALIDATION_FAILED', 'epoch must be a non-negative integer (0: the latest)');
    // Epoch selection (docs/crypto.md, "Key epochs"): the site's own wrap of that epoch, or one wrapped for it as a joiner.
    let found;
    try {
      found = await wrappedKeyOf(this.db, jobId, siteId, epoch);
    } catch (err) {
      if ((err as { code?: string }).code === 'KEY_EPOCH_NOT_HELD') {
        await this.audit.append({
          actor: siteId, role: 'node', site: siteId, action: 'key.release', resource: `job:${jobId}`, outcome: 'denied',
          rule: 'custody:listed-site', details: { job: jobId, reason: 'KEY_EPOCH_NOT_HELD' },
        });
      }
      throw err;
    }
    const keys = { ...found.row, public_params: found.row.public_params! };
    const jwe = found.jwe;
    // The attestation is for the latest ready epoch; with it the site may fetch any epoch it holds.
    const latest = found.latestReady;
    if (release && release.epoch !== latest) {
      throw new AttestationVerificationError('KEY_RELEASE_EPOCH_CHANGED', `the attestation is for key epoch ${release.epoch}, job ${jobId} is now at epoch ${latest}`);
    }
    await this.audit.append({
      actor: siteId, role: 'node', site: siteId, action: 'key.release', resource: `job:${jobId}`, outcome: 'success',
      rule: release?.rule ?? 'custody:listed-site', details: { ...release?.details, key_id: keys.public_params.keyId, job: jobId },
    });
    return { epoch: keys.epoch, paramSet: keys.param_set, keyId: keys.public_params.keyId, jwe };
  }

  // ---- key epochs --------------------------------------------------------------------------

  /** Every key epoch of a job (what `medfed keys status` shows; no key material). */
  async jobKeys(jobId: string) {
    const job = await this.job(jobId);
    return { job: job.id, encrypted: job.encrypted, epochs: (await allEpochs(this.db, job.id)).map(epochView) };
  }

  /** A site joins or leaves a running job; an encrypted job starts a new key epoch for the new list. */
  async changeJobSites(jobId: string, change: SiteChange, by: Actor, reason?: EpochReason) {
    return this.jobLocks.run(jobId, () => this.applyEpochChange(jobId, change, by, reason ?? ('add' in change ? 'SITE_JOINED' : 'SITE_LEFT')));
  }

  /** A new key epoch for the job's current site list (`medfed keys ceremony`). */
  async rotateJobKeys(jobId: string, by: Actor) {
    return this.jobLocks.run(jobId, () => this.applyEpochChange(jobId, null, by, 'ROTATION'));
  }

  /**
   * One membership change or rotation, in one transaction under the job's lock: the new site list,
   * the new epoch's ceremony, and for an encrypted job a restart of an unfinished training round
   * (its uploads are under the old key): it fails as superseded and the next round starts from the
   * same model once the new keys exist, so the job still trains its requested number of rounds.
   */
  private async applyEpochChange(jobId: string, change: SiteChange | null, by: Actor, reason: EpochReason) {
    const job = await this.job(jobId);
    if (job.status !== 'running') throw new FederationError('JOB_NOT_RUNNING', `job ${jobId} is ${job.status}`);
    if (change === null && !job.encrypted) throw new FederationError('KEY_EPOCH_CHANGE_REFUSED', `job ${jobId} is not encrypted: it has no keys to rotate`);
    const spec = job.spec;
    let next: JobSpec = spec;
    let site: string | null = null;
    if (change && 'add' in change) {
      site = change.add;
      await this.activeSite(site);
      if (participantsOf(spec).includes(site)) throw new FederationError('VALIDATION_FAILED', `site ${site} already takes part in job ${jobId}`);
      next = change.role === 'evaluator' ? { ...spec, evaluators: [...(spec.evaluators ?? []), site] } : { ...spec, sites: [...spec.sites, site] };
      const enc = spec.encryption;
      if (job.encrypted && enc && !lanesFit(enc.paramSet, enc.clipNorm, enc.fracBits, next.sites.length)) {
        throw new FederationError('KEY_EPOCH_CHANGE_REFUSED', `a sum of ${next.sites.length} updates overflows the lanes of ${enc.paramSet} at ${enc.fracBits} fractional bits; job ${jobId} cannot take another training site (a job that expects joiners sets encryption.fracBits lower at creation)`);
      }
    } else if (change) {
      const leaving = change.remove;
      site = leaving;
      if (!participantsOf(spec).includes(leaving)) throw new FederationError('SITE_NOT_IN_JOB', `site ${leaving} does not take part in job ${jobId}`);
      const evaluators = spec.evaluators?.filter((s) => s !== leaving);
      next = { ...spec, sites: spec.sites.filter((s) => s !== leaving), ...(evaluators ? { evaluators } : {}) };
      const floor = Math.max(spec.minSites, job.encrypted ? MIN_ENCRYPTED_SITES : 1);
      if (next.sites.length < floor) {
        throw new FederationError('KEY_EPOCH_CHANGE_REFUSED', `without ${leaving}, job ${jobId} would have ${next.sites.length} training sites; it needs at least ${floor}`, { unviable: true });
      }
    }
    const started = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<RoundRow>('SELECT * FROM rounds WHERE job_id = $1 AND round = $2 FOR UPDATE', [jobId, job.current_round]);
      const round = rows[0];
      const live = round !== undefined && (round.status === 'open' || round.status === 'collecting');
      if (round?.status === 'aggregating' || (live && round.kind === 'stats')) {
        throw new FederationError('KEY_EPOCH_CHANGE_REFUSED', `round ${round.round} of job ${jobId} is ${round.kind === 'stats' ? 'the statistics round' : 'aggregating'}; try again when it has closed`);
      }
      if (change && site) {
        await tx.query('UPDATE jobs SET spec = $2, updated_at = now() WHERE id = $1', [jobId, JSON.stringify(next)]);
        if ('add' in change) {
          await tx.query('INSERT INTO job_sites (job_id, site_id, role) VALUES ($1, $2, $3)', [jobId, site, change.role ?? 'trainer']);
        } else {
          await tx.query('DELETE FROM job_sites WHERE job_id = $1 AND site_id = $2', [jobId, site]);
        }
        await this.record(tx, by, 'job.sites.change', `job:${jobId}`, 'success', { job: jobId, site, sites: participantsOf(next), reason });
      }
      if (!job.encrypted) return null;
      const sites = (await tx.query<SiteRow>('SELECT * FROM sites WHERE id = ANY($1::text[])', [participantsOf(next)])).rows;
      const epoch = await startNextEpoch(tx, jobId, participantsOf(next), sites, reason, by.actor);
      await this.record(tx, by, 'key.ceremony.start', `job:${jobId}`, 'success', {
        ceremony: `${jobId}.epoch-${epoch.epoch}`, job: jobId, sites: participantsOf(next), participants: participantsOf(next).length, reason,
      });
      if (live && round.kind === 'train') {
        await tryMoveRound(tx, { jobId, round: round.round }, 'failed',
          { failure: `superseded by key epoch ${epoch.epoch}; the round restarts as round ${round.round + 1} from the same model` });
        await this.record(tx, SYSTEM_ACTOR, 'round.fail', `job:${jobId}/round:${round.round}`, 'failure',
          { job: jobId, round: round.round, kind: round.kind, reason: 'KEY_EPOCH_CHANGED' });
        await tx.query('UPDATE jobs SET total_rounds = total_rounds + 1 WHERE id = $1', [jobId]);
        await this.openRound(tx, { ...job, spec: next }, round.round + 1, 'train', round.input_model_id);
        return { epoch, reopened: round.round + 1 };
      }
      return { epoch, reopened: null };
    });
    if (started?.reopened) this.note('round opened', { job: jobId, round: started.reopened, kind: 'train' });
    this.changed();
    return { job: jobId, sites: participantsOf(next), epoch: started ? epochView(started.epoch) : null };
  }

  /** A suspended site counts as leaving its running encrypted jobs; a job that cannot go on without it fails. */
  private async dropSuspendedSites(): Promise<void> {
    const { rows } = await this.db.query<{ job_id: string; site_id: string }>(
      `SELECT js.job_id, js.site_id FROM job_sites js JOIN jobs j ON j.id = js.job_id JOIN sites s ON s.id = js.site_id
        WHERE j.status = 'running' AND j.encrypted AND s.status IN ('suspended', 'revoked') ORDER BY js.job_id, js.site_id`);
    for (const { job_id: jobId, site_id: siteId } of rows) {
      try {
        await this.changeJobSites(jobId, { remove: siteId }, SYSTEM_ACTOR, 'SITE_SUSPENDED');
      } catch (err) {
        const { code, details } = err as { code?: string; details?: { unviable?: boolean } };
        // Busy (statistics round, aggregation): the next tick tries again. Unviable: the job cannot go on.
        if (code === 'KEY_EPOCH_CHANGE_REFUSED' && details?.unviable === true) {
          await this.jobLocks.run(jobId, () => this.failForSuspension(jobId, siteId));
        } else if (code !== 'KEY_EPOCH_CHANGE_REFUSED') {
          this.reportUnlessUnavailable(err);
        }
      }
    }
  }

  private async failForSuspension(jobId: string, siteId: string): Promise<void> {
    const why = `site ${siteId} was suspended and the job cannot continue without it`;
    await this.db.transaction(async (tx) => {
      await failLiveRounds(tx, jobId, why);
      const { rowCount } = await tx.query(`UPDATE jobs SET status = 'failed', failure = $2, updated_at = now() WHERE id = $1 AND status = 'running'`, [jobId, why]);
      if (rowCount) await this.record(tx, SYSTEM_ACTOR, 'job.fail', `job:${jobId}`, 'failure', { job: jobId, reason: 'SITE_SUSPENDED' });
    });
    this.changed();
  }

  private async storeModel(jobId: string, round: number, weights: Float32Array): Promise<ModelRow> {
    const bytes = encodeVector(weights);
    const sha256 = sha256Hex(bytes);
    const blobKey = `models/${jobId}/${round}-${sha256}`;
    await this.blobs.put(blobKey, bytes);
    return {
      id: `model-${jobId.slice(4, 12)}-r${round}-${sha256.slice(0, 12)}`,
      job_id: jobId, round, param_count: weights.length, byte_size: bytes.byteLength, sha256,
      blob_key: blobKey, encrypted: false, kind: 'weights', total_weight: null, contributors: null, created_at: this.now(),
    };
  }

  private async insertModel(tx: Queryable, m: ModelRow): Promise<void> {
    await tx.query(
      `INSERT INTO models (id, job_id, round, param_count, byte_size, sha256, blob_key, encrypted, kind, total_weight, contributors, key_epoch)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [m.id, m.job_id, m.round, m.param_count, m.byte_size, m.sha256, m.blob_key, m.encrypted, m.kind, m.total_weight,
        m.contributors ? JSON.stringify(m.contributors) : null, m.key_epoch ?? null]);
    await this.publisher?.onModelStored(tx, m);
  }

  private changed(): void {
    this.events.emit('changed');
  }

  private noteRoundClosed(job: JobRow, round: RoundRow, next: { round: number; kind: RoundKind } | null): void {
    this.note('round closed', { job: job.id, round: round.round, kind: round.kind });
    if (next) this.note('round opened', { job: job.id, round: next.round, kind: next.kind });
    else this.note('job completed', { job: job.id });
  }

  /** A committed step of a round's life, for the operator's log (the fault suite proves phases by these lines). */
  private note(message: string, fields: Record<string, unknown>): void {
    this.events.emit('lifecycle', message, fields);
  }
}

function checkSpecConsistency(spec: JobSpec): void {
  const dup = (xs: readonly string[]) => xs.find((x, i) => xs.indexOf(x) !== i);
  const d1 = dup(spec.features);
  if (d1) throw new FederationError('JOB_SPEC_INVALID', `feature "${d1}" is listed twice`);
  const d2 = dup(spec.classes);
  if (d2) throw new FederationError('JOB_SPEC_INVALID', `class "${d2}" is listed twice`);
  const d3 = dup(participantsOf(spec));
  if (d3) throw new FederationError('JOB_SPEC_INVALID', `site "${d3}" is listed twice (a site either trains or evaluates)`);
  if (spec.features.includes(spec.label)) throw new FederationError('JOB_SPEC_INVALID', `the label "${spec.label}" cannot also be a feature`);
  if (spec.minSites > spec.sites.length) {
    throw new FederationError('JOB_SPEC_INVALID', `minSites ${spec.minSites} exceeds the ${spec.sites.length} training sites listed`);
  }
}

function link(m: ModelRow & { key_id?: string | null }): ChainLink {
  return {
    modelId: m.id, round: m.round, sha256: m.sha256, kind: m.kind, totalWeight: m.total_weight, contributors: m.contributors,
    ...(m.key_epoch && m.key_id ? { epoch: m.key_epoch, keyId: m.key_id } : {}),
  };
}
