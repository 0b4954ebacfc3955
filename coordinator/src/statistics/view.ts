import type { Role } from '@medfed/proto/auth/index';
import type { Db } from '../storage/db.js';
import type { JobRow } from '../federation/rows.js';
import type { StatsResultRow } from './rounds.js';
import { isStatisticsSpec } from './spec.js';
import { waitingOf, waitingOfSite, waitingView } from '../federation/waiting.js';

export interface Viewer {
  readonly role: Role | string;
  readonly site: string | null;
}

/**
 * A statistics query as one caller may see it. Researchers and administrators: the query, every
 * site's participation (with a refusal's reason) and the suppressed aggregate. Auditors: metadata
 * only (no values, no query details beyond its digest and sites). Site stewards and clinicians:
 * their own site's participation only. Everyone sees what the query waits for (`waiting`,
 * `waitingSummary`: site ids and codes), a site-bound viewer for its own site only.
 */
export async function describeStatsQuery(db: Db, job: JobRow, row: StatsResultRow, viewer: Viewer) {
  const { rows: tasks } = await db.query<{ site_id: string; state: string; detail: string | null }>(
    'SELECT site_id, state, detail FROM site_tasks WHERE job_id = $1 AND round = 0 ORDER BY site_id', [job.id]);
  const q = isStatisticsSpec(job.spec) ? job.spec.statistics : null;
  const sites = q?.sites ?? [];
  const participation = sites.map((site) => {
    const t = tasks.find((x) => x.site_id === site);
    const state = t?.state === 'submitted' ? 'answered' : t?.state === 'failed' ? 'refused' : t ? 'assigned' : 'waiting';
    return { site, state, ...(t?.state === 'failed' && t.detail ? { reason: t.detail.split(':')[0], message: t.detail } : {}) };
  });
  const status = row.status === 'published' ? 'published' : job.status === 'running' ? row.status : job.status;
  const waiting = await waitingOf(db, job);
  const siteBound = viewer.role !== 'admin' && viewer.role !== 'researcher' && viewer.role !== 'auditor';
  const meta = {
    id: job.id, name: job.name, status, encrypted: job.encrypted, sites, queryDigest: row.query_digest,
    createdAt: job.created_at, publishedAt: row.published_at, failure: job.failure,
    ...waitingView(siteBound ? waitingOfSite(waiting, viewer.site ?? '') : waiting),
  };
  if (viewer.role === 'admin' || viewer.role === 'researcher') {
    return { ...meta, owner: job.owner, query: q, participation, publishingSite: row.publishing_site, result: row.result, resultJws: row.result_jws };
  }
  if (viewer.role === 'auditor') return { ...meta, contributors: row.contributors ?? [] };
  return { ...meta, participation: participation.filter((p) => p.site === viewer.site) };
}
