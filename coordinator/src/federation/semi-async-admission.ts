import { MIN_ENCRYPTED_SITES, type JobSpec, type SemiAsyncSettings } from '@medfed/proto';
import type { Queryable } from '../storage/db.js';
import { FederationError } from './errors.js';
import { resolveJobStrategy } from './job-strategy.js';
import type { ContributionRow, JobRow, RoundRow } from './rows.js';

/**
 * Semi-asynchronous rounds on the coordinator (proto/src/strategy/semi-async.ts): a training round
 * closes at `closeAfter` updates; a site whose update arrives after its round closed is told the
 * open round (ROUND_CLOSED with `openRound`) and may re-send the same update there, counted at its
 * staleness-discounted weight if it is at most `maxStaleness` rounds old.
 */

/** A job's semi-asynchronous settings, or null for synchronous rounds. */
export function semiAsyncOfJob(spec: JobSpec): SemiAsyncSettings | null {
  return resolveJobStrategy(spec).semiAsync;
}

/** Refuses (JOB_SPEC_INVALID) a closeAfter that could close a round below its quorum, or never before its deadline. */
export function checkSemiAsyncSpec(spec: JobSpec): void {
  const semi = semiAsyncOfJob(spec);
  if (!semi) return;
  const { closeAfter } = semi;
  if (spec.encryption?.enabled === true && closeAfter < MIN_ENCRYPTED_SITES) {
    throw new FederationError('JOB_SPEC_INVALID', `strategy.closeAfter ${closeAfter} is below ${MIN_ENCRYPTED_SITES}: an encrypted round closing on fewer updates would decrypt a sum of too few sites`);
  }
  if (closeAfter < spec.minSites) {
    throw new FederationError('JOB_SPEC_INVALID', `strategy.closeAfter ${closeAfter} is below minSites ${spec.minSites}: a round closing on fewer updates would miss its quorum`);
  }
  if (closeAfter > spec.sites.length) {
    throw new FederationError('JOB_SPEC_INVALID', `strategy.closeAfter ${closeAfter} exceeds the ${spec.sites.length} training sites listed: no round could close on that many updates`);
  }
}

/** Whether a training round of this job closes now: a semi-asynchronous one as soon as closeAfter trainers submitted. */
export function closesEarly(spec: JobSpec, round: RoundRow, trainersDone: number): boolean {
  if (round.kind !== 'train') return false;
  const semi = semiAsyncOfJob(spec);
  return semi !== null && trainersDone >= semi.closeAfter;
}

/** A late update: the round its site trained for, and how many rounds later it counts. */
export interface Lateness {
  readonly baseRound: number;
  readonly staleness: number;
}

/** From an upload's header: null for a fresh update (base_round 0 or the round itself). */
export function latenessOf(header: { readonly round: number; readonly baseRound?: number | undefined }): Lateness | null {
  const base = header.baseRound ?? 0;
  if (!Number.isSafeInteger(base) || base < 0) throw new FederationError('VALIDATION_FAILED', 'base_round must be a non-negative integer (0: the round itself)');
  if (base === 0 || base === header.round) return null;
  if (base > header.round) {
    throw new FederationError('ROUND_MISMATCH', `base_round ${base} is after round ${header.round}: an update counts only in a round at or after the one it was trained for`);
  }
  return { baseRound: base, staleness: header.round - base };
}

/**
 * ROUND_CLOSED for an upload that came too late; on a running semi-asynchronous job that has a
 * training round open, `details.openRound` names it (the gRPC refusal carries it as the
 * `medfed-open-round` trailer) so the site can re-send its update there.
 */
export async function roundClosedError(db: Queryable, job: JobRow, message: string): Promise<FederationError> {
  const open = job.status === 'running' && semiAsyncOfJob(job.spec) ? await openTrainingRound(db, job.id) : null;
  return new FederationError('ROUND_CLOSED', open === null ? message : `${message}; round ${open} is open`, open === null ? undefined : { openRound: open });
}

/** The job's current round if it is a training round still taking updates, else null. */
export async function openTrainingRound(db: Queryable, jobId: string): Promise<number | null> {
  const { rows } = await db.query<{ round: number }>(
    `SELECT r.round FROM rounds r JOIN jobs j ON j.id = r.job_id AND r.round = j.current_round
      WHERE r.job_id = $1 AND j.status = 'running' AND r.kind = 'train' AND r.status IN ('open', 'collecting')`, [jobId]);
  return rows[0]?.round ?? null;
}

/**
 * Checks a late update before any byte is read, given its target round (the one it is to count in)
 * and returns the round it was trained for (whose nonce and input model its attestation carries).
 * Refusals: a synchronous job (ROUND_MISMATCH), a target that is not the open training round
 * (ROUND_CLOSED), staleness above maxStaleness (UPDATE_TOO_STALE), a base model that is not the
 * input of the round it claims (ROUND_MISMATCH), a site whose update trained for that round already
 * counted somewhere (DUPLICATE_SUBMISSION).
 */
export async function admitLateUpdate(db: Queryable, job: JobRow, target: RoundRow, header: { readonly siteId: string; readonly baseModelId: string }, late: Lateness): Promise<RoundRow> {
  const semi = semiAsyncOfJob(job.spec);
  if (!semi) {
    throw new FederationError('ROUND_MISMATCH', `job ${job.id} has synchronous rounds: an update counts only in the round it was trained for (base_round ${late.baseRound}, round ${target.round})`);
  }
  if (target.kind !== 'train') {
    throw new FederationError('ROUND_MISMATCH', `round ${target.round} of job ${job.id} is a ${target.kind} round; a late update counts only in a training round`);
  }
  if (job.status !== 'running' || target.round !== job.current_round || (target.status !== 'open' && target.status !== 'collecting')) {
    throw await roundClosedError(db, job, `round ${target.round} of job ${job.id} is ${target.status === 'open' || target.status === 'collecting' ? job.status : target.status}; submissions are no longer accepted`);
  }
  if (late.staleness > semi.maxStaleness) {
    throw new FederationError('UPDATE_TOO_STALE',
      `an update trained for round ${late.baseRound} would count in round ${target.round} at staleness ${late.staleness}; job ${job.id} accepts at most maxStaleness ${semi.maxStaleness}`,
      { staleness: late.staleness, maxStaleness: semi.maxStaleness });
  }
  const { rows } = await db.query<RoundRow>('SELECT * FROM rounds WHERE job_id = $1 AND round = $2', [job.id, late.baseRound]);
  const base = rows[0];
  if (base?.kind !== 'train') throw new FederationError('ROUND_MISMATCH', `job ${job.id} has no training round ${late.baseRound} for the update to have been trained for`);
  if (header.baseModelId !== base.input_model_id) {
    throw new FederationError('ROUND_MISMATCH',
      `update was computed from model ${header.baseModelId || '(none)'}, round ${base.round} (its base_round) starts from ${base.input_model_id}`);
  }
  await refuseCountedTwice(db, job.id, header.siteId, late.baseRound);
  return base;
}

/** One training of a round's model counts once: in its own round or, late, in one later round. */
export async function refuseCountedTwice(db: Queryable, jobId: string, siteId: string, baseRound: number): Promise<void> {
  const { rows } = await db.query<{ round: number }>(
    `SELECT round FROM contributions WHERE job_id = $1 AND site_id = $2 AND ((round = $3 AND base_round IS NULL) OR base_round = $3) LIMIT 1`,
    [jobId, siteId, baseRound]);
  if (rows[0]) {
    throw new FederationError('DUPLICATE_SUBMISSION', `site ${siteId} already has an update trained for round ${baseRound} of job ${jobId} counted in round ${rows[0].round}`);
  }
}

/** Rounds between the model a contribution was trained from and the round it counts in (0: fresh). */
export function stalenessOf(row: Pick<ContributionRow, 'round' | 'base_round'>): number {
  return row.base_round === null || row.base_round === undefined ? 0 : row.round - row.base_round;
}

/** The staleness of each contribution of a round (0: fresh), by site id. */
export async function stalenessBySite(db: Queryable, jobId: string, round: number): Promise<Map<string, number>> {
  const { rows } = await db.query<Pick<ContributionRow, 'site_id' | 'round' | 'base_round'>>(
    'SELECT site_id, round, base_round FROM contributions WHERE job_id = $1 AND round = $2', [jobId, round]);
  return new Map(rows.map((r) => [r.site_id, stalenessOf(r)]));
}
