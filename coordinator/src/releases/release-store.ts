import type { Queryable } from '../storage/db.js';
import { ReleaseError } from './errors.js';
import type { Quorum } from './quorum.js';
import type { ReleaseState } from './state-machine.js';

/** A release as stored (snake_case, as the storage layer returns it). */
export interface ReleaseRow {
  id: string;
  job_id: string;
  round: number;
  state: ReleaseState;
  reason: string;
  requested_by: string;
  requested_role: string;
  input_model_id: string;
  input_sha256: string;
  quorum: Quorum;
  decrypting_site: string | null;
  reproducing_site: string | null;
  plaintext_sha256: string | null;
  plaintext_size: string | number | null;
  plaintext_blob_key: string | null;
  decrypt_statement: string | null;
  reproduce_statement: string | null;
  released_model_id: string | null;
  failure_code: string | null;
  failure: string | null;
  step_deadline: Date | null;
  missed_steps: MissedStep[];
  cancelled_by: string | null;
  created_at: Date;
  updated_at: Date;
}

/** A site that let a step's deadline pass; it is never chosen for that step of the release again. */
export interface MissedStep {
  readonly step: 'decrypt' | 'reproduce';
  readonly site: string;
}

export interface ApprovalRow {
  release_id: string;
  capacity: string;
  approver: string;
  role: string;
  site_id: string | null;
  approved_at: Date;
  /** A site steward's signed approval (compact JWS); null for compliance and for approvals recorded before signatures. */
  approval: string | null;
  approval_key: string | null;
  approval_expires_at: Date | null;
  approval_key_checked: boolean;
}

export async function releaseRow(q: Queryable, id: string, forUpdate = false): Promise<ReleaseRow> {
  const { rows } = await q.query<ReleaseRow>(`SELECT * FROM releases WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  if (!rows[0]) throw new ReleaseError('RELEASE_UNKNOWN', `no release "${id}" exists`);
  return rows[0];
}

export async function approvalsOf(q: Queryable, ids: readonly string[]): Promise<Map<string, ApprovalRow[]>> {
  const out = new Map<string, ApprovalRow[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return out;
  const { rows } = await q.query<ApprovalRow>(
    'SELECT * FROM release_approvals WHERE release_id = ANY($1::text[]) ORDER BY approved_at, capacity, approver', [ids]);
  for (const r of rows) out.get(r.release_id)?.push(r);
  return out;
}

/** Moves a release to `state` with the given column values (the caller holds the row lock and checked the transition). */
export async function updateRelease(tx: Queryable, id: string, state: ReleaseState, set: Readonly<Record<string, unknown>> = {}): Promise<void> {
  const columns = Object.keys(set);
  const assignments = columns.map((c, i) => `${c} = $${i + 3}`);
  await tx.query(`UPDATE releases SET state = $2, updated_at = now()${assignments.map((a) => `, ${a}`).join('')} WHERE id = $1`,
    [id, state, ...columns.map((c) => set[c])]);
}

/** Starts the clock of the step a site now owes (the database's clock, the one expiry reads). */
export async function startStepClock(tx: Queryable, id: string, seconds: number): Promise<void> {
  await tx.query('UPDATE releases SET step_deadline = now() + make_interval(secs => $2) WHERE id = $1', [id, seconds]);
}

/** Releases whose site step is past its deadline (oldest first). */
export async function overdueReleases(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT id FROM releases WHERE state IN ('approved', 'decrypted') AND step_deadline IS NOT NULL AND step_deadline <= now() ORDER BY step_deadline`);
  return rows.map((r) => r.id);
}
