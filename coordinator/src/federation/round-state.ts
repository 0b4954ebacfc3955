import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';
import type { Queryable } from '../storage/index.js';
import type { RoundRow, RoundStatus } from './rows.js';

/**
 * The round's life, in one table: every status change of a round goes through `moveRound`, which
 * refuses a transition this table does not list (and one from a status the round no longer has,
 * so two workers cannot both close or fail it).
 *
 *   open ──> collecting ──> aggregating ──> closed
 *     │          │  ^            │
 *     │          │  └────────────┤   (a corrupted upload is excluded: back to collecting)
 *     └──────────┴───────────────┴──> failed
 *
 * An evaluate or statistics round may aggregate straight from open (no upload moved it to collecting).
 */
export const ROUND_TRANSITIONS: Readonly<Record<RoundStatus, readonly RoundStatus[]>> = {
  open: ['collecting', 'aggregating', 'failed'],
  collecting: ['aggregating', 'failed'],
  aggregating: ['closed', 'collecting', 'failed'],
  closed: [],
  failed: [],
};

export const ROUND_STATE_ERRORS = {
  ROUND_TRANSITION_ILLEGAL: {
    http: 409, grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: "A round status change that the round state machine does not allow (coordinator/src/federation/round-state.ts), or the round had already left the status it was to change from",
  },
} as const satisfies ErrorTable;

export class RoundTransitionError extends MedfedError<'ROUND_TRANSITION_ILLEGAL'> {
  constructor(message: string) {
    super('ROUND_TRANSITION_ILLEGAL', message);
  }
}

export function canMove(from: RoundStatus, to: RoundStatus): boolean {
  return ROUND_TRANSITIONS[from].includes(to);
}

/** The statuses a round may be in to move to `to`. */
export function predecessorsOf(to: RoundStatus): RoundStatus[] {
  return (Object.keys(ROUND_TRANSITIONS) as RoundStatus[]).filter((from) => canMove(from, to));
}

/** What a transition also records on the round row. */
export interface RoundChange {
  readonly failure?: string;
  readonly outputModelId?: string;
}

/**
 * Moves a round to `to`, only from `from` (or from any allowed predecessor when `from` is
 * omitted), inside the caller's transaction, and returns the updated row. Throws
 * RoundTransitionError when the table forbids it or the round is no longer where it was expected.
 */
export async function moveRound(tx: Queryable, key: RoundKey, to: RoundStatus, change: RoundChange = {}, from?: RoundStatus | readonly RoundStatus[]): Promise<RoundRow> {
  const moved = await tryMoveRound(tx, key, to, change, from);
  if (moved) return moved;
  const allowed = allowedFrom(key, to, from);
  const { rows: current } = await tx.query<{ status: RoundStatus }>('SELECT status FROM rounds WHERE job_id = $1 AND round = $2', [key.jobId, key.round]);
  throw new RoundTransitionError(`round ${key.round} of job ${key.jobId} is ${current[0]?.status ?? 'missing'}, not ${allowed.join(' or ')}: it cannot move to ${to}`);
}

/**
 * Like moveRound, but a round that is no longer in one of the `from` statuses is left as it is and
 * null returned (another worker moved it first). A transition the table forbids still throws.
 */
export async function tryMoveRound(tx: Queryable, key: RoundKey, to: RoundStatus, change: RoundChange = {}, from?: RoundStatus | readonly RoundStatus[]): Promise<RoundRow | null> {
  const allowed = allowedFrom(key, to, from);
  const sets = ['status = $3'];
  const params: unknown[] = [key.jobId, key.round, to, allowed];
  if (to === 'aggregating') sets.push('aggregating_since = now()');
  if (to === 'collecting') sets.push('aggregating_since = NULL');
  if (to === 'closed' || to === 'failed') sets.push('closed_at = now()');
  if (change.failure !== undefined) { params.push(change.failure); sets.push(`failure = $${params.length}`); }
  if (change.outputModelId !== undefined) { params.push(change.outputModelId); sets.push(`output_model_id = $${params.length}`); }
  const { rows } = await tx.query<RoundRow>(
    `UPDATE rounds SET ${sets.join(', ')} WHERE job_id = $1 AND round = $2 AND status = ANY($4::text[]) RETURNING *`, params);
  return rows[0] ?? null;
}

/** Fails every round of a job that is still in one of `from` (a job that stops or fails), returning them. */
export async function failLiveRounds(tx: Queryable, jobId: string, failure: string, from: readonly RoundStatus[] = ['open', 'collecting']): Promise<RoundRow[]> {
  for (const f of from) if (!canMove(f, 'failed')) throw new RoundTransitionError(`a ${f} round cannot fail`);
  const { rows } = await tx.query<RoundRow>(
    `UPDATE rounds SET status = 'failed', failure = $2, closed_at = now() WHERE job_id = $1 AND status = ANY($3::text[]) RETURNING *`,
    [jobId, failure, [...from]]);
  return rows;
}

export interface RoundKey {
  readonly jobId: string;
  readonly round: number;
}

function allowedFrom(key: RoundKey, to: RoundStatus, from: RoundStatus | readonly RoundStatus[] | undefined): RoundStatus[] {
  const allowed = from === undefined ? predecessorsOf(to) : (typeof from === 'string' ? [from] : [...from]);
  for (const f of allowed) if (!canMove(f, to)) throw new RoundTransitionError(`round ${key.round} of job ${key.jobId}: ${f} -> ${to} is not a transition of the round state machine`);
  return allowed;
}
