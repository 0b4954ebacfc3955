import type { JobSpec } from '@medfed/proto';
import type { Queryable } from '../storage/db.js';
import type { JobKeysRow } from './key-ceremony.js';
import { expectedSites } from './participants.js';
import type { JobRow, RoundKind, RoundRow, SiteRow } from './rows.js';

/**
 * What a run (a training job or a statistics query) is waiting for, and why, as data: one entry per
 * site it waits on, plus a one-line summary (`awaiting approval at site-b`, `site-c offline since
 * ...`, `awaiting updates from site-a, site-c (round 3)`). The dashboard, `medfed runs show`,
 * `medfed stats show` and the `--wait` loops all print this, so they cannot disagree.
 *
 * Entries carry site ids, stable codes and timestamps only: never a message a site wrote (it could
 * quote its data).
 */
export const WAITING_REASONS = [
  'approval', 'site-list-approval', 'key-ceremony', 'offline', 'data-refused', 'publishing', 'statistics', 'training', 'evaluation',
] as const;
export type WaitingReason = (typeof WAITING_REASONS)[number];

export interface WaitingEntry {
  readonly site: string;
  readonly reason: WaitingReason;
  /** Since when (the refusal, the last heartbeat, the epoch or round start); null when never seen. */
  readonly since: Date | null;
  /** A stable code (`JOB_NOT_APPROVED`, `HE_SITE_LIST_UNSIGNED`, a refusal's code) or the ceremony step (`sign`, `generate`). */
  readonly detail: string | null;
}

/** Where the run stands, for the parts of the summary that concern no single site. */
export interface WaitingContext {
  readonly phase: 'finished' | 'key-ceremony' | 'collecting' | 'aggregating' | 'publishing' | 'idle';
  readonly round: number | null;
  readonly roundKind: RoundKind | null;
  readonly statistics: boolean;
  readonly keyEpoch: number | null;
}

export interface WaitingState {
  readonly entries: readonly WaitingEntry[];
  readonly context: WaitingContext;
}

/**
 * A site whose last heartbeat is older than this is offline (agents beat every 5 s by default, so
 * this is six missed beats). The dashboard's online column uses the same threshold.
 */
export const OFFLINE_AFTER_MS = 30_000;

/** The rows the derivation reads; `loadWaitingInputs` fetches them, tests build them. */
export interface WaitingInputs {
  readonly now: Date;
  readonly job: Pick<JobRow, 'id' | 'status' | 'spec' | 'current_round' | 'encrypted'>;
  /** The job's current round, if it has one. */
  readonly round: Pick<RoundRow, 'round' | 'kind' | 'status' | 'opened_at' | 'closed_at'> | null;
  /** The site tasks of the current round. */
  readonly tasks: readonly { site_id: string; state: string; detail: string | null; updated_at: Date }[];
  readonly sites: readonly Pick<SiteRow, 'id' | 'last_seen_at' | 'last_status'>[];
  /** The job's latest key epoch (encrypted jobs). */
  readonly keys: Pick<JobKeysRow, 'epoch' | 'status' | 'site_list' | 'signatures' | 'generating_site' | 'created_at'> | null;
  /** The sites' reports of their stewards' decisions on this job (`job.site-approval` audit events), oldest first. */
  readonly approvals: readonly { site: string; at: Date; approved: boolean; code: string | null }[];
  /** A statistics query whose sum waits for its publishing site. */
  readonly publishing: { site: string } | null;
}

const CODE = /^[A-Z][A-Z0-9_]{1,63}$/;
const SITE_LIST_UNSIGNED = 'HE_SITE_LIST_UNSIGNED';

/** The leading code of a `CODE: message` detail, or null; the message itself is never kept. */
export function codeOfDetail(detail: string | null | undefined): string | null {
  const first = (detail ?? '').split(':')[0]?.trim() ?? '';
  return CODE.test(first) ? first : null;
}

/** The refusals that mean "the steward has not approved this job (for this spec) yet". */
export function isApprovalCode(code: string | null): boolean {
  return code === 'JOB_NOT_APPROVED' || code === 'JOB_APPROVAL_SPEC_CHANGED' || (code?.startsWith('APPROVAL_') ?? false);
}

function phaseOf(inputs: WaitingInputs): WaitingContext['phase'] {
  const { job, round, keys } = inputs;
  if (job.status !== 'running') return 'finished';
  if (inputs.publishing) return 'publishing';
  // An epoch still signing or generating holds back every task of the job (engine.pollTask).
  if (job.encrypted && keys && (keys.status === 'signing' || keys.status === 'generating')) return 'key-ceremony';
  if (!round) return 'idle';
  if (round.status === 'open' || round.status === 'collecting') return 'collecting';
  if (round.status === 'aggregating') return 'aggregating';
  return 'idle';
}

/** The sites the run waits on in this phase, each with what it owes and since when. */
function owed(inputs: WaitingInputs, phase: WaitingContext['phase']): WaitingEntry[] {
  const { job, round, keys } = inputs;
  if (phase === 'publishing') return [{ site: inputs.publishing!.site, reason: 'publishing', since: round?.closed_at ?? null, detail: null }];
  if (phase === 'key-ceremony' && keys) {
    if (keys.status === 'generating') return [{ site: keys.generating_site, reason: 'key-ceremony', since: keys.created_at, detail: 'generate' }];
    return keys.site_list.sites.filter((s) => !keys.signatures[s.siteId])
      .map((s) => ({ site: s.siteId, reason: 'key-ceremony', since: keys.created_at, detail: 'sign' }));
  }
  if (phase !== 'collecting' || !round) return [];
  const reason = duty(job.spec, round.kind);
  return expectedSites(job.spec, round.kind)
    .filter((site) => !inputs.tasks.some((t) => t.site_id === site && t.state === 'submitted'))
    .map((site) => ({ site, reason: reason(site), since: round.opened_at, detail: null }));
}

function duty(spec: JobSpec, kind: RoundKind): (site: string) => WaitingReason {
  if (kind === 'stats') return () => 'statistics';
  if (kind === 'evaluate') return () => 'evaluation';
  return (site) => (spec.sites.includes(site) ? 'training' : 'evaluation');
}

/**
 * What stands in the way of one owed step, most decisive first: a refusal the site reported for
 * this round, an agent that stopped beating, a steward who has not approved the job (or its site
 * list) yet; otherwise the step itself.
 */
function explain(inputs: WaitingInputs, step: WaitingEntry): WaitingEntry {
  const { site } = step;
  const failed = inputs.tasks.find((t) => t.site_id === site && t.state === 'failed');
  if (failed) {
    const code = codeOfDetail(failed.detail);
    const reason: WaitingReason = isApprovalCode(code) ? 'approval' : code === SITE_LIST_UNSIGNED ? 'site-list-approval' : 'data-refused';
    return { site, reason, since: failed.updated_at, detail: code ?? 'TASK_FAILED' };
  }
  const row = inputs.sites.find((s) => s.id === site);
  const seen = row?.last_seen_at ?? null;
  if (!seen || inputs.now.getTime() - seen.getTime() > OFFLINE_AFTER_MS) return { site, reason: 'offline', since: seen, detail: null };
  const approval = pendingApproval(inputs, site, seen);
  if (approval) return approval;
  const status = (row?.last_status ?? {}) as Record<string, unknown>;
  const code = status.jobId === inputs.job.id && status.state === 'failed' ? codeOfDetail(status.detail as string | null) : null;
  if (code === SITE_LIST_UNSIGNED && step.reason === 'key-ceremony') return { site, reason: 'site-list-approval', since: seen, detail: code };
  return step;
}

/**
 * The steward's approval is pending when the site's latest report on the job is a refusal, or when
 * its heartbeat says it waits for the approval of this job (and no approval was reported since).
 */
function pendingApproval(inputs: WaitingInputs, site: string, seen: Date): WaitingEntry | null {
  const reports = inputs.approvals.filter((a) => a.site === site);
  const latest = reports.at(-1);
  if (latest && !latest.approved) {
    // Since the first refusal after the last approval: how long the steward has been asked.
    const lastApproved = reports.findLastIndex((a) => a.approved);
    return { site, reason: 'approval', since: reports[lastApproved + 1]!.at, detail: latest.code ?? 'JOB_NOT_APPROVED' };
  }
  const status = (inputs.sites.find((s) => s.id === site)?.last_status ?? {}) as Record<string, unknown>;
  if (status.jobId !== inputs.job.id) return null;
  const code = codeOfDetail(status.detail as string | null);
  const awaiting = status.state === 'awaiting-approval' || (status.state === 'failed' && isApprovalCode(code));
  if (!awaiting || (latest?.approved && latest.at >= seen)) return null;
  return { site, reason: 'approval', since: seen, detail: code ?? 'JOB_NOT_APPROVED' };
}

/** Derives what the run waits for from its rows: no I/O, the same answer for the same rows. */
export function deriveWaiting(inputs: WaitingInputs): WaitingState {
  const phase = phaseOf(inputs);
  const context: WaitingContext = {
    phase, round: inputs.round?.round ?? null, roundKind: inputs.round?.kind ?? null,
    statistics: inputs.job.spec.kind === 'statistics', keyEpoch: inputs.keys?.epoch ?? null,
  };
  return { entries: owed(inputs, phase).map((step) => explain(inputs, step)), context };
}

const list = (entries: readonly WaitingEntry[]) => entries.map((e) => e.site).join(', ');
const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

/** One phrase per reason, in the order a reader should act on them. */
const PHRASES: Readonly<Record<WaitingReason, (entries: readonly WaitingEntry[], c: WaitingContext) => string>> = {
  approval: (e) => `awaiting approval at ${list(e)}`,
  'site-list-approval': (e) => `awaiting site-list approval at ${list(e)}`,
  'key-ceremony': (e) => {
    const generating = e.find((x) => x.detail === 'generate');
    return generating ? `key generation at ${generating.site}` : `signatures from ${list(e)}`;
  },
  offline: (e) => e.map((x) => (x.since ? `${x.site} offline since ${iso(x.since)}` : `${x.site} never connected`)).join('; '),
  'data-refused': (e) => e.map((x) => `${x.site} refused (${x.detail ?? 'TASK_FAILED'})`).join('; '),
  publishing: (e) => `awaiting publication by ${list(e)}`,
  statistics: (e, c) => (c.statistics ? `awaiting answers from ${list(e)}` : `awaiting feature statistics from ${list(e)} (round ${c.round})`),
  training: (e, c) => `awaiting updates from ${list(e)} (round ${c.round})`,
  evaluation: (e, c) => (c.roundKind === 'evaluate' ? `awaiting evaluation of the final model from ${list(e)}` : `awaiting evaluations from ${list(e)} (round ${c.round})`),
};

/** The one-line summary of a waiting state; empty when the run waits for nothing (it is finished). */
export function summarizeWaiting(state: WaitingState): string {
  const { entries, context: c } = state;
  if (c.phase === 'finished') return '';
  const parts: string[] = [];
  for (const reason of WAITING_REASONS) {
    const of = entries.filter((e) => e.reason === reason);
    if (reason === 'key-ceremony') {
      if (c.phase === 'key-ceremony') parts.push(`awaiting key ceremony${c.keyEpoch !== null ? ` (epoch ${c.keyEpoch}${of.length ? `: ${PHRASES[reason](of, c)}` : ''})` : ''}`);
      continue;
    }
    if (of.length > 0) parts.push(PHRASES[reason](of, c));
  }
  if (parts.length === 0 && c.phase !== 'idle') parts.push(c.statistics ? 'summing the answers' : `aggregating round ${c.round}`);
  return parts.join('; ');
}

/** The REST shape: `waiting` (entries) and `waitingSummary` (one line). */
export function waitingView(state: WaitingState): { waiting: WaitingEntry[]; waitingSummary: string } {
  return { waiting: [...state.entries], waitingSummary: summarizeWaiting(state) };
}

/** What a viewer bound to one site may see: the entries of its own site (the summary follows). */
export function waitingOfSite(state: WaitingState, site: string): WaitingState {
  return { ...state, entries: state.entries.filter((e) => e.site === site) };
}

/** Reads the rows `deriveWaiting` needs for one job. */
export async function loadWaitingInputs(db: Queryable, job: WaitingInputs['job'], now = new Date()): Promise<WaitingInputs> {
  const { rows: rounds } = await db.query<RoundRow>(
    'SELECT round, kind, status, opened_at, closed_at FROM rounds WHERE job_id = $1 AND round = $2', [job.id, job.current_round]);
  const round = rounds[0] ?? null;
  const { rows: tasks } = await db.query<{ site_id: string; state: string; detail: string | null; updated_at: Date }>(
    'SELECT site_id, state, detail, updated_at FROM site_tasks WHERE job_id = $1 AND round = $2', [job.id, job.current_round]);
  const { rows: sites } = await db.query<Pick<SiteRow, 'id' | 'last_seen_at' | 'last_status'>>('SELECT id, last_seen_at, last_status FROM sites');
  const keys = job.encrypted
    ? (await db.query<JobKeysRow>('SELECT * FROM job_keys WHERE job_id = $1 ORDER BY epoch DESC LIMIT 1', [job.id])).rows[0] ?? null
    : null;
  const { rows: reports } = await db.query<{ site: string | null; at: Date; outcome: string; event: string }>(
    `SELECT site, at, outcome, event FROM audit_events WHERE job = $1 AND action = 'job.site-approval' ORDER BY seq`, [job.id]);
  const approvals = reports.filter((r) => r.site !== null).map((r) => {
    const reason = (JSON.parse(r.event) as { details?: { reason?: unknown } }).details?.reason;
    return { site: r.site!, at: new Date(r.at), approved: r.outcome === 'success', code: typeof reason === 'string' && CODE.test(reason) ? reason : null };
  });
  let publishing: WaitingInputs['publishing'] = null;
  if (job.spec.kind === 'statistics') {
    const { rows } = await db.query<{ status: string; publishing_site: string }>('SELECT status, publishing_site FROM stats_results WHERE job_id = $1', [job.id]);
    if (rows[0]?.status === 'publishing') publishing = { site: rows[0].publishing_site };
  }
  return { now, job, round, tasks, sites, keys, approvals, publishing };
}

/** What one job waits for now. */
export async function waitingOf(db: Queryable, job: WaitingInputs['job'], now = new Date()): Promise<WaitingState> {
  return deriveWaiting(await loadWaitingInputs(db, job, now));
}
