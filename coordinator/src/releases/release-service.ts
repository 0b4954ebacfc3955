import { randomUUID } from 'node:crypto';
import { decodeVector, MedfedError, parameterCount, sha256Hex, SHA256_HEX, type JobSpec } from '@medfed/proto';
import { verifyReleaseStatement, type ReleaseStatementClaims } from '@medfed/proto/release/index';
import type { AttestationPublicJwk } from '@medfed/proto/attestation/index';
import { GovernanceError } from '@medfed/proto/governance/index';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Actor, AuditRecorder } from '../federation/audit-recorder.js';
import type { FederationEngine } from '../federation/engine.js';
import { currentKeys } from '../federation/key-ceremony.js';
import { participantsOf } from '../federation/participants.js';
import type { JobRow, ModelRow } from '../federation/rows.js';
import type { Db, Queryable } from '../storage/db.js';
import { chooseSites, nextSite } from './choose-sites.js';
import { ReleaseError } from './errors.js';
import { capacityOf, defaultQuorum, tally } from './quorum.js';
import { approvalsOf, overdueReleases, releaseRow, startStepClock, updateRelease, type MissedStep, type ReleaseRow } from './release-store.js';
import { assertTransition, canTransition, ENDED_STATES, type ReleaseState } from './state-machine.js';
import { releaseView, type ReleaseView } from './release-view.js';
import { checkSiteApproval, knownStewardKey, type CheckedSiteApproval } from './site-approval.js';

export interface ReleaseServiceOptions {
  readonly db: Db;
  readonly blobs: BlobStore;
  readonly engine: FederationEngine;
  /** Every step is recorded; state changes in their own transaction, refusals before they are answered. */
  readonly audit: AuditRecorder;
  /** Development lets one identity request and approve as compliance (the demo's identities). */
  readonly env: 'development' | 'production';
  /** How long a chosen site has for its decrypt or reproduce step before the step goes to the next key holder. */
  readonly stepTimeoutSeconds?: number;
}

const DEFAULT_STEP_TIMEOUT_SECONDS = 600;

/** What a site sends with the SubmitRelease stream. */
export interface ReleaseSubmission {
  readonly siteId: string;
  readonly releaseId: string;
  readonly statement: string;
  readonly byteSize: number;
  readonly sha256: string;
}

const REASON_MAX = 500;

/**
 * The release workflow (docs/releases.md): request, approvals up to the quorum, decryption by one
 * site, the same decryption reproduced and countersigned by a second site, then the coordinator's
 * own digest check, a signed `released-model` manifest and its log entry. Each step is one
 * transaction with its audit event; each refusal is audited before it is answered.
 */
export class ReleaseService {
  readonly #db: Db;
  readonly #blobs: BlobStore;
  readonly #engine: FederationEngine;
  readonly #audit: AuditRecorder;
  readonly #env: 'development' | 'production';
  readonly #stepTimeoutSeconds: number;

  constructor(options: ReleaseServiceOptions) {
    this.#db = options.db;
    this.#blobs = options.blobs;
    this.#engine = options.engine;
    this.#audit = options.audit;
    this.#env = options.env;
    this.#stepTimeoutSeconds = options.stepTimeoutSeconds ?? DEFAULT_STEP_TIMEOUT_SECONDS;
  }

  // ---- people (REST) -----------------------------------------------------------------------

  /** Opens a release of a round's global model: the encrypted round sum, or a plaintext job's weights. */
  async request(jobId: string, round: unknown, reason: unknown, by: Actor): Promise<ReleaseView> {
    if (!Number.isSafeInteger(round) || (round as number) < 1) throw new ReleaseError('RELEASE_REQUEST_INVALID', 'round must be a positive integer (a closed training round)');
    if (typeof reason !== 'string' || reason.trim().length === 0 || reason.length > REASON_MAX) {
      throw new ReleaseError('RELEASE_REQUEST_INVALID', `reason must say why the model is released (1 to ${REASON_MAX} characters)`);
    }
    const job = await this.#engine.job(jobId);
    const input = await this.#inputModel(job, round as number);
    const id = `rel-${randomUUID()}`;
    const quorum = defaultQuorum(participantsOf(job.spec));
    let sites: { decrypting: string; reproducing: string } | null = null;
    if (job.encrypted) {
      const keys = await currentKeys(this.#db, job.id);
      sites = chooseSites(id, Object.keys(keys?.wrapped_keys ?? {}));
      if (!sites) throw new ReleaseError('RELEASE_REQUEST_INVALID', `job ${job.id} has fewer than two key holders; its model cannot be decrypted and reproduced`);
    }
    try {
      await this.#db.transaction(async (tx) => {
        const { rows: active } = await tx.query<{ id: string; state: string }>(
          `SELECT id, state FROM releases WHERE job_id = $1 AND round = $2 AND state <> ALL($3::text[])`, [job.id, round, ENDED_STATES]);
        if (active[0]) throw new ReleaseError('RELEASE_EXISTS', `round ${String(round)} of job ${job.id} already has release ${active[0].id} (${active[0].state})`);
        await tx.query(
          `INSERT INTO releases (id, job_id, round, state, reason, requested_by, requested_role, input_model_id, input_sha256, quorum, decrypting_site, reproducing_site)
           VALUES ($1, $2, $3, 'requested', $4, $5, $6, $7, $8, $9, $10, $11)`,
          [id, job.id, round, reason.trim(), by.actor, by.role, input.id, input.sha256, JSON.stringify(quorum), sites?.decrypting ?? null, sites?.reproducing ?? null]);
        await this.#record(tx, by, 'release.request', job.id, id, 'success', 'release:request', {
          job: job.id, round: round as number, ...(sites ? { sites: [sites.decrypting, sites.reproducing] } : {}),
        });
      });
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new ReleaseError('RELEASE_EXISTS', `round ${String(round)} of job ${job.id} already has a release in progress`);
      throw err;
    }
    this.#changed();
    return this.get(id);
  }

  /**
   * Records an approval in the approver's capacity (its site's steward, or compliance). A steward's
   * approval is its signature (`approval`, docs/releases.md), checked here as far as the coordinator
   * can (checkSiteApproval) and stored for the agents, which verify it against their own pins before
   * they decrypt. The same approval again changes nothing; a new signature by the same person
   * replaces the earlier one while the release waits. Reaching the quorum approves the release; a
   * plaintext job's release is then signed at once (there is nothing to decrypt).
   */
  async approve(id: string, by: Actor, body: { readonly approval?: unknown } = {}): Promise<ReleaseView> {
    const row = await releaseRow(this.#db, id);
    let capacity: string;
    let signed: CheckedSiteApproval | null = null;
    try {
      capacity = capacityOf(by, { id, requestedBy: row.requested_by, quorum: row.quorum }, this.#env === 'development');
      if (capacity === 'compliance' && body.approval !== undefined) {
        throw new ReleaseError('RELEASE_APPROVAL_SIGNATURE_UNEXPECTED', `a compliance approval of release ${id} carries no steward signature; send no approval`);
      }
      if (capacity !== 'compliance') {
        const site = capacity.slice(5);
        if (body.approval === undefined) {
          throw new ReleaseError('RELEASE_APPROVAL_SIGNATURE_REQUIRED',
            `a steward approves release ${id} for ${site} with a signature of ${site}'s steward key: run medfed agent approve-release --config AGENT.yaml --release ${id} at the site`);
        }
        signed = checkSiteApproval(body.approval, { id, jobId: row.job_id, round: row.round, inputSha256: row.input_sha256 }, site,
          await knownStewardKey(this.#db, row.job_id, site));
      }
    } catch (err) {
      await this.#refusal(by, 'release.approve', row, err, by.site ? { site: by.site } : {});
      throw err;
    }
    let approvedNow = false;
    try {
      await this.#db.transaction(async (tx) => {
        const locked = await releaseRow(tx, id, true);
        const { rows: same } = await tx.query<{ approval: string | null }>(
          'SELECT approval FROM release_approvals WHERE release_id = $1 AND capacity = $2 AND approver = $3', [id, capacity, by.actor]);
        const jws = (body.approval as string | undefined) ?? null;
        if (same[0] && (same[0].approval === jws || capacity === 'compliance')) return; // idempotent: the same approval again
        if (locked.state !== 'requested') throw new ReleaseError('RELEASE_NOT_PENDING', `release ${id} is ${locked.state}; it takes no more approvals`);
        const signature = [jws, signed?.keyThumbprint ?? null, signed ? new Date(signed.claims.expiresAt * 1000) : null, signed?.keyChecked ?? false];
        if (same[0]) {
          // A fresh signature by the same person (e.g. the earlier one is about to expire) replaces it.
          await tx.query(`UPDATE release_approvals SET approval = $4, approval_key = $5, approval_expires_at = $6, approval_key_checked = $7, approved_at = now()
                           WHERE release_id = $1 AND capacity = $2 AND approver = $3`, [id, capacity, by.actor, ...signature]);
        } else {
          await tx.query(`INSERT INTO release_approvals (release_id, capacity, approver, role, site_id, approval, approval_key, approval_expires_at, approval_key_checked)
                          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [id, capacity, by.actor, by.role, capacity.startsWith('site:') ? capacity.slice(5) : null, ...signature]);
        }
        await this.#record(tx, by, 'release.approve', locked.job_id, id, 'success', `release:${capacity === 'compliance' ? 'compliance' : 'site-steward'}`, {
          job: locked.job_id, round: locked.round, ...(capacity.startsWith('site:') ? { site: capacity.slice(5) } : {}),
        });
        const approvals = (await approvalsOf(tx, [id])).get(id) ?? [];
        if (tally(locked.quorum, approvals, new Date()).reached) {
          assertTransition(id, locked.state, 'approved');
          await updateRelease(tx, id, 'approved');
          if (locked.decrypting_site !== null) await startStepClock(tx, id, this.#stepTimeoutSeconds);
          await this.#record(tx, { actor: 'coordinator', role: 'system' }, 'release.approve', locked.job_id, id, 'success', 'release:quorum', {
            job: locked.job_id, round: locked.round, reason: 'QUORUM_REACHED',
          });
          approvedNow = true;
        }
      });
    } catch (err) {
      if (err instanceof ReleaseError || err instanceof GovernanceError) await this.#refusal(by, 'release.approve', row, err, by.site ? { site: by.site } : {});
      throw err;
    }
    if (approvedNow && row.decrypting_site === null) {
      try {
        await this.#releasePlaintext(id);
      } catch (err) {
        // Nobody would ever pick up an approved plaintext release: it fails, with the reason, instead.
        const code = err instanceof MedfedError ? err.code : 'INTERNAL';
        await this.#fail(row, code, err instanceof MedfedError ? err.message : 'the release could not be signed');
        throw err;
      }
    }
    this.#changed();
    return this.get(id);
  }

  /**
   * Ends a pending release (requested, approved or decrypted) at the request of its requester or an
   * admin: no site is asked for a step afterwards, and an uploaded plaintext is deleted as on a refusal.
   */
  async cancel(id: string, reason: unknown, by: Actor): Promise<ReleaseView> {
    if (typeof reason !== 'string' || reason.trim().length === 0 || reason.length > REASON_MAX) {
      throw new ReleaseError('RELEASE_REQUEST_INVALID', `reason must say why the release is cancelled (1 to ${REASON_MAX} characters)`);
    }
    const row = await releaseRow(this.#db, id);
    let blobKey: string | null = null;
    try {
      if (by.role !== 'admin' && by.actor !== row.requested_by) {
        throw new ReleaseError('RELEASE_CANCEL_FORBIDDEN', `release ${id} was requested by ${row.requested_by}; only its requester or an admin cancels it`);
      }
      await this.#db.transaction(async (tx) => {
        const locked = await releaseRow(tx, id, true);
        if (!canTransition(locked.state, 'cancelled')) throw new ReleaseError('RELEASE_NOT_CANCELLABLE', `release ${id} is ${locked.state}; it can no longer be cancelled`);
        await updateRelease(tx, id, 'cancelled', { failure_code: 'CANCELLED', failure: reason.trim(), cancelled_by: by.actor, step_deadline: null });
        await this.#record(tx, by, 'release.cancel', locked.job_id, id, 'success', `release:cancel-${by.role === 'admin' ? 'admin' : 'requester'}`, {
          job: locked.job_id, round: locked.round, reason: 'CANCELLED',
        });
        blobKey = locked.plaintext_blob_key;
      });
    } catch (err) {
      if (err instanceof ReleaseError) await this.#refusal(by, 'release.cancel', row, err, {});
      throw err;
    }
    if (blobKey) await this.#blobs.delete(blobKey).catch(() => {});
    this.#changed();
    return this.get(id);
  }

  // ---- deadlines (the coordinator's tick) --------------------------------------------------

  /**
   * Hands every overdue site step to the next eligible key holder (never the site of the other step,
   * never one that already missed this step), or fails the release with RELEASE_STEP_TIMEOUT once no
   * such site is left. Returns how many releases changed.
   */
  async expireSteps(): Promise<number> {
    let changed = 0;
    for (const id of await overdueReleases(this.#db)) {
      if (await this.#expireStep(id)) changed++;
    }
    if (changed > 0) this.#changed();
    return changed;
  }

  async #expireStep(id: string): Promise<boolean> {
    let blobKey: string | null = null;
    const done = await this.#db.transaction(async (tx) => {
      const row = await releaseRow(tx, id, true);
      const overdue = await tx.query<{ overdue: boolean }>('SELECT step_deadline <= now() AS overdue FROM releases WHERE id = $1', [id]);
      if ((row.state !== 'approved' && row.state !== 'decrypted') || !overdue.rows[0]?.overdue) return false;
      const step = row.state === 'approved' ? 'decrypt' : 'reproduce';
      const late = (step === 'decrypt' ? row.decrypting_site : row.reproducing_site)!;
      const other = step === 'decrypt' ? row.reproducing_site : row.decrypting_site;
      const missed: MissedStep[] = [...(row.missed_steps ?? []), { step, site: late }];
      const keys = await currentKeys(tx, row.job_id);
      const next = nextSite(late, Object.keys(keys?.wrapped_keys ?? {}),
        [...(other ? [other] : []), ...missed.filter((m) => m.step === step).map((m) => m.site)]);
      if (next) {
        await updateRelease(tx, id, row.state, { [step === 'decrypt' ? 'decrypting_site' : 'reproducing_site']: next, missed_steps: JSON.stringify(missed) });
        await startStepClock(tx, id, this.#stepTimeoutSeconds);
        await this.#record(tx, SYSTEM, 'release.reassign', row.job_id, id, 'success', `release:${step}-deadline`, {
          job: row.job_id, round: row.round, site: next, sites: [late, next], reason: 'RELEASE_STEP_TIMEOUT',
        });
        return true;
      }
      const message = `every eligible key-holding site missed the ${step} step of release ${id} (${missed.filter((m) => m.step === step).map((m) => m.site).join(', ')})`;
      assertTransition(id, row.state, 'failed');
      await updateRelease(tx, id, 'failed', { failure_code: 'RELEASE_STEP_TIMEOUT', failure: message, missed_steps: JSON.stringify(missed), step_deadline: null });
      await this.#record(tx, SYSTEM, 'release.reassign', row.job_id, id, 'failure', `release:${step}-deadline`, {
        job: row.job_id, round: row.round, site: late, reason: 'RELEASE_STEP_TIMEOUT',
      });
      await this.#record(tx, SYSTEM, 'model.release', row.job_id, id, 'failure', 'release:RELEASE_STEP_TIMEOUT', {
        job: row.job_id, round: row.round, reason: 'RELEASE_STEP_TIMEOUT',
      });
      blobKey = row.plaintext_blob_key;
      return true;
    });
    if (blobKey) await this.#blobs.delete(blobKey).catch(() => {});
    return done;
  }

  async get(id: string): Promise<ReleaseView> {
    const row = await releaseRow(this.#db, id);
    return (await this.#views([row]))[0]!;
  }

  /** The registry: releases (by default only released ones), newest first. */
  async list(filter: { state?: ReleaseState | 'all'; job?: string } = {}): Promise<ReleaseView[]> {
    const state = filter.state ?? 'released';
    const { rows } = await this.#db.query<ReleaseRow>(
      `SELECT * FROM releases WHERE ($1::text = 'all' OR state = $1) AND ($2::text IS NULL OR job_id = $2) ORDER BY created_at DESC`,
      [state, filter.job ?? null]);
    return this.#views(rows);
  }

  // ---- sites (gRPC) ------------------------------------------------------------------------

  /** Checks what can be checked before any byte is read (so a doomed upload fails fast). */
  async admit(sub: ReleaseSubmission): Promise<void> {
    if (!sub.releaseId || sub.releaseId.length > 128) throw new ReleaseError('RELEASE_STATEMENT_INVALID', 'release_id must be 1-128 characters');
    if (!Number.isSafeInteger(sub.byteSize) || sub.byteSize < 0) throw new ReleaseError('RELEASE_STATEMENT_INVALID', 'byte_size must be a non-negative integer');
    await this.#engine.activeSite(sub.siteId);
    const row = await releaseRow(this.#db, sub.releaseId);
    if (sub.byteSize > 0) {
      const job = await this.#engine.job(row.job_id);
      if (sub.byteSize !== paramCountOf(job.spec) * 4) {
        throw new ReleaseError('RELEASE_PLAINTEXT_INVALID', `job ${job.id} has ${paramCountOf(job.spec)} float32 parameters (${paramCountOf(job.spec) * 4} bytes), the upload announces ${sub.byteSize}`);
      }
    }
  }

  /**
   * A site's release step. Decrypt: its statement and the plaintext, checked against each other and
   * against the job's model size. Reproduce: its statement only; the same digest releases the model
   * (after the coordinator re-hashes the stored bytes), another digest refuses the release.
   */
  async submit(sub: ReleaseSubmission, payload: Buffer): Promise<{ releaseId: string; state: ReleaseState }> {
    const row = await releaseRow(this.#db, sub.releaseId);
    const step = row.state === 'decrypted' ? 'release.countersign' : 'release.decrypt';
    try {
      const site = await this.#engine.activeSite(sub.siteId);
      const keys = site.attestation_jwk ? [site.attestation_jwk as unknown as AttestationPublicJwk] : [];
      if (keys.length === 0) throw new ReleaseError('RELEASE_STATEMENT_SIGNATURE_INVALID', `site ${site.id} has no registered attestation key to sign release statements with`);
      const claims = verifyReleaseStatement(sub.statement, keys);
      if (claims.release !== row.id || claims.site !== site.id || claims.job !== row.job_id || claims.round !== row.round || claims.inputSha256 !== row.input_sha256) {
        throw new ReleaseError('RELEASE_STATEMENT_INVALID', `the statement names release ${claims.release}, site ${claims.site}, job ${claims.job} round ${claims.round} and input ${claims.inputSha256.slice(0, 12)}…; this upload is for release ${row.id} of job ${row.job_id} round ${row.round} from ${site.id}`);
      }
      if (claims.step === 'decrypt') return await this.#acceptDecryption(row, sub, claims, payload);
      return await this.#acceptCountersignature(row, sub, claims, payload);
    } catch (err) {
      if (err instanceof MedfedError && err.code !== 'RELEASE_HASH_MISMATCH') {
        await this.#refusal({ actor: sub.siteId, role: 'node', site: sub.siteId }, step, row, err, { site: sub.siteId });
      }
      throw err;
    }
  }

  // ---- steps -------------------------------------------------------------------------------

  async #acceptDecryption(row: ReleaseRow, sub: ReleaseSubmission, claims: ReleaseStatementClaims, payload: Buffer) {
    if (row.state !== 'approved' || row.decrypting_site !== sub.siteId) {
      throw new ReleaseError('RELEASE_STEP_UNEXPECTED', `release ${row.id} is ${row.state} and does not wait for a decryption by ${sub.siteId}`);
    }
    const digest = sha256Hex(payload);
    if (payload.byteLength !== sub.byteSize || digest !== sub.sha256 || digest !== claims.sha256) {
      throw new ReleaseError('RELEASE_BLOB_MISMATCH', `received ${payload.byteLength} bytes hashing to ${digest}; the header announced ${sub.byteSize} bytes and ${sub.sha256 || '(none)'}, the statement ${claims.sha256}`);
    }
    checkPlaintext((await this.#engine.job(row.job_id)).spec, payload);
    const blobKey = `releases/${row.job_id}/${row.id}-${digest}.bin`;
    await this.#blobs.put(blobKey, payload);
    await this.#db.transaction(async (tx) => {
      const locked = await releaseRow(tx, row.id, true);
      // Cancelled, or the step went to another site, while the bytes were arriving.
      if (locked.state !== 'approved' || locked.decrypting_site !== sub.siteId) {
        throw new ReleaseError('RELEASE_STEP_UNEXPECTED', `release ${row.id} is ${locked.state} and no longer waits for a decryption by ${sub.siteId}`);
      }
      await updateRelease(tx, row.id, 'decrypted', {
        plaintext_sha256: digest, plaintext_size: payload.byteLength, plaintext_blob_key: blobKey, decrypt_statement: sub.statement,
      });
      await startStepClock(tx, row.id, this.#stepTimeoutSeconds);
      await this.#record(tx, { actor: sub.siteId, role: 'node', site: sub.siteId }, 'release.decrypt', row.job_id, row.id, 'success', 'release:decrypting-site', {
        job: row.job_id, round: row.round, site: sub.siteId, sha256: digest, bytes: payload.byteLength,
      });
    }).catch(async (err: unknown) => {
      await this.#blobs.delete(blobKey).catch(() => {});
      throw err;
    });
    this.#changed();
    return { releaseId: row.id, state: 'decrypted' as const };
  }

  async #acceptCountersignature(row: ReleaseRow, sub: ReleaseSubmission, claims: ReleaseStatementClaims, payload: Buffer) {
    if (row.state !== 'decrypted' || row.reproducing_site !== sub.siteId || claims.step !== 'reproduce') {
      throw new ReleaseError('RELEASE_STEP_UNEXPECTED', `release ${row.id} is ${row.state} and does not wait for a countersignature by ${sub.siteId}`);
    }
    if (payload.byteLength > 0 || sub.byteSize > 0) {
      throw new ReleaseError('RELEASE_STATEMENT_INVALID', 'a countersignature carries no model bytes: the plaintext leaves only the decrypting site');
    }
    const site = { actor: sub.siteId, role: 'node', site: sub.siteId };
    if (!claims.agrees || claims.sha256 !== row.plaintext_sha256) {
      // Two sites decrypting the same sums must get the same bytes (BFV decryption is exact): a
      // different digest means one of them (or the upload) is wrong, and nothing is released.
      const message = `site ${sub.siteId} reproduced SHA-256 ${claims.sha256}, site ${row.decrypting_site} uploaded ${row.plaintext_sha256}: release ${row.id} is refused`;
      await this.#db.transaction(async (tx) => {
        const locked = await releaseRow(tx, row.id, true);
        assertTransition(row.id, locked.state, 'refused');
        assertStepOwner(locked, sub.siteId);
        await updateRelease(tx, row.id, 'refused', { reproduce_statement: sub.statement, failure_code: 'RELEASE_HASH_MISMATCH', failure: message, step_deadline: null });
        await this.#record(tx, site, 'release.countersign', row.job_id, row.id, 'denied', 'release:RELEASE_HASH_MISMATCH', {
          job: row.job_id, round: row.round, site: sub.siteId, sha256: claims.sha256, reason: 'RELEASE_HASH_MISMATCH',
        });
        await this.#record(tx, SYSTEM, 'model.release', row.job_id, row.id, 'denied', 'release:RELEASE_HASH_MISMATCH', {
          job: row.job_id, round: row.round, ...(row.plaintext_sha256 ? { sha256: row.plaintext_sha256 } : {}), reason: 'RELEASE_HASH_MISMATCH',
        });
      });
      if (row.plaintext_blob_key) await this.#blobs.delete(row.plaintext_blob_key).catch(() => {});
      this.#changed();
      throw new ReleaseError('RELEASE_HASH_MISMATCH', message);
    }
    const job = await this.#engine.job(row.job_id);
    // The coordinator's own check: the stored bytes are the ones both sites vouch for.
    const bytes = await this.#blobs.get(row.plaintext_blob_key!);
    if (sha256Hex(bytes) !== row.plaintext_sha256) {
      await this.#fail(row, 'RELEASE_BLOB_MISMATCH', `the stored plaintext of release ${row.id} no longer hashes to ${row.plaintext_sha256}`);
      throw new ReleaseError('RELEASE_BLOB_MISMATCH', `the stored plaintext of release ${row.id} does not match its digest; the release failed`);
    }
    const input = await this.#engine.model(row.job_id, row.input_model_id);
    const model = releasedModel(job, row, input, bytes, row.plaintext_blob_key!);
    await this.#db.transaction(async (tx) => {
      const locked = await releaseRow(tx, row.id, true);
      assertTransition(row.id, locked.state, 'released');
      assertStepOwner(locked, sub.siteId);
      await this.#insertModel(tx, model);
      await updateRelease(tx, row.id, 'released', { reproduce_statement: sub.statement, released_model_id: model.id, step_deadline: null });
      await this.#record(tx, site, 'release.countersign', row.job_id, row.id, 'success', 'release:reproducing-site', {
        job: row.job_id, round: row.round, site: sub.siteId, sha256: claims.sha256,
      });
      await this.#record(tx, SYSTEM, 'model.release', row.job_id, row.id, 'success', 'release:quorum-and-two-sites', {
        job: row.job_id, round: row.round, model: model.id, sha256: model.sha256,
      });
    });
    await this.#published();
    return { releaseId: row.id, state: 'released' as const };
  }

  /** A plaintext job: the approved round's weights are re-published as the released model. */
  async #releasePlaintext(id: string): Promise<void> {
    const row = await releaseRow(this.#db, id);
    const job = await this.#engine.job(row.job_id);
    const input = await this.#engine.model(row.job_id, row.input_model_id);
    const bytes = await this.#engine.modelBytes(input);
    checkPlaintext(job.spec, bytes);
    const model = releasedModel(job, row, input, bytes, input.blob_key);
    await this.#db.transaction(async (tx) => {
      const locked = await releaseRow(tx, id, true);
      assertTransition(id, locked.state, 'released');
      await this.#insertModel(tx, model);
      await updateRelease(tx, id, 'released', { plaintext_sha256: model.sha256, plaintext_size: model.byte_size, released_model_id: model.id });
      await this.#record(tx, SYSTEM, 'model.release', row.job_id, id, 'success', 'release:quorum-plaintext-job', {
        job: row.job_id, round: row.round, model: model.id, sha256: model.sha256,
      });
    });
    await this.#published();
  }

  async #fail(row: ReleaseRow, code: string, message: string): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const locked = await releaseRow(tx, row.id, true);
      assertTransition(row.id, locked.state, 'failed');
      await updateRelease(tx, row.id, 'failed', { failure_code: code, failure: message, step_deadline: null });
      await this.#record(tx, SYSTEM, 'model.release', row.job_id, row.id, 'failure', `release:${code}`, { job: row.job_id, round: row.round, reason: code });
    });
    this.#changed();
  }

  // ---- helpers -----------------------------------------------------------------------------

  async #inputModel(job: JobRow, round: number): Promise<ModelRow> {
    const kind = job.encrypted ? 'update-sum' : 'weights';
    const { rows } = await this.#db.query<ModelRow>('SELECT * FROM models WHERE job_id = $1 AND round = $2 AND kind = $3', [job.id, round, kind]);
    if (!rows[0]) throw new ReleaseError('RELEASE_REQUEST_INVALID', `round ${round} of job ${job.id} has no closed global model (${kind}) to release`);
    return rows[0];
  }

  async #insertModel(tx: Queryable, m: ModelRow): Promise<void> {
    await tx.query(
      `INSERT INTO models (id, job_id, round, param_count, byte_size, sha256, blob_key, encrypted, kind, total_weight, contributors)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [m.id, m.job_id, m.round, m.param_count, m.byte_size, m.sha256, m.blob_key, m.encrypted, m.kind, m.total_weight,
        m.contributors ? JSON.stringify(m.contributors) : null]);
    await this.#engine.publisher?.onModelStored(tx, m);
  }

  /**
   * Appends the new manifest to the log now, so the registry shows its log index at once. The
   * release has committed: a failed append is retried (and logged) by the coordinator's next flush.
   */
  async #published(): Promise<void> {
    await this.#engine.publisher?.flushPending().catch(() => 0);
    this.#changed();
  }

  async #views(rows: readonly ReleaseRow[]): Promise<ReleaseView[]> {
    const approvals = await approvalsOf(this.#db, rows.map((r) => r.id));
    const models = rows.map((r) => r.released_model_id).filter((m): m is string => m !== null);
    const { rows: manifests } = models.length === 0 ? { rows: [] } : await this.#db.query<{ model_id: string; digest: string; leaf_index: string | number | null }>(
      'SELECT model_id, digest, leaf_index FROM model_manifests WHERE model_id = ANY($1::text[])', [models]);
    return rows.map((r) => releaseView(r, approvals.get(r.id) ?? [], manifests.find((m) => m.model_id === r.released_model_id) ?? null));
  }

  async #record(tx: Queryable, by: Actor, action: string, jobId: string, releaseId: string, outcome: 'success' | 'denied' | 'failure', rule: string, details: Record<string, unknown>): Promise<void> {
    await this.#audit.inTransaction(tx, {
      actor: by.actor, role: by.role, site: by.site ?? null, request_id: by.requestId ?? null, action,
      resource: `job:${jobId}/release:${releaseId}`, outcome, rule, details: details as never,
    });
  }

  /** A refused step changes nothing but leaves a trace: who, which release, which code. */
  async #refusal(by: Actor, action: string, row: ReleaseRow, err: unknown, extra: Record<string, unknown>): Promise<void> {
    const code = (err as { code?: string }).code ?? 'INTERNAL';
    await this.#audit.append({
      actor: by.actor, role: by.role, site: by.site ?? null, request_id: by.requestId ?? null, action,
      resource: `job:${row.job_id}/release:${row.id}`, outcome: code === 'INTERNAL' ? 'failure' : 'denied', rule: `release:${code}`,
      details: { job: row.job_id, round: row.round, ...extra, reason: /^[A-Z][A-Z0-9_]{1,63}$/.test(code) ? code : 'INTERNAL' } as never,
    });
  }

  #changed(): void {
    this.#engine.events.emit('changed');
  }
}

const SYSTEM: Actor = { actor: 'coordinator', role: 'system' };

/** The reproduce step may have gone to another site (a missed deadline) while this one was working. */
function assertStepOwner(locked: ReleaseRow, siteId: string): void {
  if (locked.reproducing_site !== siteId) {
    throw new ReleaseError('RELEASE_STEP_UNEXPECTED', `the reproduce step of release ${locked.id} now belongs to ${locked.reproducing_site ?? 'no site'}, not ${siteId}`);
  }
}

function paramCountOf(spec: JobSpec): number {
  return parameterCount(spec.features.length, spec.model.hidden, spec.classes.length);
}

/** A released model is plaintext float32 weights of exactly the job's model size, every value finite. */
function checkPlaintext(spec: JobSpec, bytes: Uint8Array): void {
  const n = paramCountOf(spec);
  if (bytes.byteLength !== n * 4) throw new ReleaseError('RELEASE_PLAINTEXT_INVALID', `the model has ${bytes.byteLength} bytes; job model size is ${n} float32 values (${n * 4} bytes)`);
  let values: Float32Array;
  try {
    values = decodeVector(bytes, 'float32', n) as Float32Array;
  } catch (err) {
    throw new ReleaseError('RELEASE_PLAINTEXT_INVALID', `the model is not a float32 vector: ${(err as Error).message}`);
  }
  if (!values.every(Number.isFinite)) throw new ReleaseError('RELEASE_PLAINTEXT_INVALID', 'the model holds a value that is not finite');
}

function releasedModel(job: JobRow, row: ReleaseRow, input: ModelRow, bytes: Uint8Array, blobKey: string): ModelRow {
  const sha256 = sha256Hex(bytes);
  if (!SHA256_HEX.test(sha256)) throw new ReleaseError('RELEASE_BLOB_MISMATCH', 'the released model has no digest');
  return {
    id: `released-${job.id.slice(4, 12)}-r${row.round}-${sha256.slice(0, 12)}`,
    job_id: job.id, round: row.round, param_count: paramCountOf(job.spec), byte_size: bytes.byteLength, sha256,
    blob_key: blobKey, encrypted: false, kind: 'released', total_weight: null, contributors: input.contributors, created_at: new Date(),
  };
}
