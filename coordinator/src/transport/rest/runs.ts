import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import Type from 'typebox';
import type { Role } from '@medfed/proto/auth/index';
import type { FederationEngine } from '../../federation/engine.js';
import { FederationError } from '../../federation/errors.js';
import { describeJob } from '../../federation/job-view.js';
import { OFFLINE_AFTER_MS } from '../../federation/waiting.js';
import type { Db } from '../../storage/db.js';
import { principalOf } from '../../auth/rest/request-context.js';
import type { Principal } from '../../auth/principal.js';
import { privacyTotals } from '../../audit/privacy-totals.js';
import { settleBeforeHijack } from './request-audit.js';

/**
 * Read routes for the dashboard and `medfed runs`: one job's overview (everything the run page shows,
 * filtered by the viewer's role and site), a live stream of it, and the filtered audit trail.
 * Writes stay in app.ts; these never change state.
 */
export interface RunsRouteDeps {
  readonly engine: FederationEngine;
  readonly db: Db;
  readonly log: Logger;
  /** Re-checks an open stream's viewer (session, key, site); a refusal ends the stream with `reauth`. */
  readonly stillStanding?: (viewer: Principal) => Promise<void>;
}

/** How often an open stream re-checks its viewer: a revocation ends it within this time plus one database read. */
export const STREAM_RECHECK_MS = 2_000;

/** Which roles see which part of a run; the dashboard shows what the server sends, nothing more. */
export const PANEL_ROLES: Readonly<Record<'privacy' | 'models' | 'siteDetails' | 'audit', readonly Role[]>> = {
  privacy: ['admin', 'researcher', 'auditor', 'site-steward'],
  models: ['admin', 'researcher', 'auditor', 'site-steward'],
  /** Other sites' rows of the per-site table (a site-bound role sees its own site's row only). */
  siteDetails: ['admin', 'researcher', 'auditor'],
  audit: ['admin', 'auditor'],
};

/** A site whose last heartbeat is older than this is shown offline (the threshold of waiting.ts). */
const ONLINE_WITHIN_MS = OFFLINE_AFTER_MS;
/** At most this many overview snapshots per second per stream, however busy the engine is. */
const STREAM_MIN_INTERVAL_MS = 250;
const STREAM_KEEPALIVE_MS = 15_000;
const FINISHED = new Set(['completed', 'failed', 'stopped']);

const can = (panel: keyof typeof PANEL_ROLES, p: Principal) => PANEL_ROLES[panel].includes(p.role);

type JobView = Awaited<ReturnType<typeof describeJob>>;

function str(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

/** Everything the run page shows about one job, for this viewer. */
export async function jobOverview(deps: RunsRouteDeps, jobId: string, viewer: Principal) {
  const view: JobView = await describeJob(deps.engine, deps.db, jobId);
  const siteRows = await deps.engine.listSites();
  const now = Date.now();
  const mayDetail = (site: string) => can('siteDetails', viewer) || viewer.site === site;
  const sites = view.sites.filter((s) => mayDetail(s.id)).map((s) => {
    const row = siteRows.find((r) => r.id === s.id);
    const status = (row?.last_status ?? {}) as Record<string, unknown>;
    const seen = row?.last_seen_at ? row.last_seen_at.getTime() : null;
    return {
      id: s.id, role: s.role,
      online: seen !== null && now - seen < ONLINE_WITHIN_MS,
      lastSeenAt: row?.last_seen_at ?? null,
      secondsSinceSeen: seen === null ? null : Math.round((now - seen) / 1000),
      task: { state: str(status.state), round: typeof status.round === 'number' ? status.round : null, jobId: str(status.jobId) },
      samples: s.samples,
      latest: s.latest,
      dataSchemaDigest: str(status.dataSchemaDigest),
      agentVersion: s.agentVersion,
      /** Whether the site's training contributions carried passing attestations (contribution-attestation.ts). */
      attestation: s.attestation.state,
      attestedRounds: { attested: s.attestation.attested, contributed: s.attestation.contributed },
      logPath: str(status.logPath),
      failures: s.failures,
    };
  });
  const failures = sites.flatMap((s) => s.failures.map((f) => ({
    site: s.id, round: f.round, error: f.detail ?? 'the site reported a failure without detail', at: f.at,
    log: s.logPath ?? 'not reported by the agent (set logFile in its configuration)',
  })));
  const metrics = view.metrics.filter((m) => mayDetail(m.site));
  return {
    viewer: { role: viewer.role, site: viewer.site },
    job: {
      id: view.id, name: view.name, owner: view.owner, status: view.status, failure: view.failure, createdAt: view.createdAt,
      currentRound: view.currentRound, totalRounds: view.totalRounds, roundsDone: view.roundsDone,
      waiting: view.waiting, waitingSummary: view.waitingSummary, attestation: view.attestation,
      rounds: view.rounds.map((r) => ({ round: r.round, kind: r.kind, status: r.status, failure: r.failure, openedAt: r.openedAt,
        closedAt: r.closedAt, deadline: r.deadline, contributors: r.contributions.length })),
    },
    figures: view.figures,
    metrics,
    sites,
    failures,
    privacy: can('privacy', viewer) ? await privacyOf(deps.db, view) : null,
    models: can('models', viewer) ? await modelsOf(deps.db, view) : null,
  };
}

/**
 * Model versions with what the coordinator recorded about them: a signed manifest (its digest) and
 * its transparency-log leaf. The coordinator reports what it holds; an agent verifies the signature and
 * proof itself before loading. Release state and approvals show as null/[] until releases are recorded.
 */
async function modelsOf(db: Db, view: JobView) {
  const { rows } = await db.query<{ model_id: string; digest: string; leaf_index: string | number | null }>(
    'SELECT model_id, digest, leaf_index FROM model_manifests WHERE job_id = $1', [view.id]);
  return view.models.map((m) => {
    const manifest = rows.find((r) => r.model_id === m.id);
    return {
      id: m.id, round: m.round, kind: m.kind, sha256: m.sha256, byteSize: m.byteSize, encrypted: m.encrypted, createdAt: m.createdAt,
      signature: manifest ? `signed manifest ${manifest.digest.slice(0, 16)}` : null,
      logInclusion: manifest && manifest.leaf_index !== null ? `log leaf ${Number(manifest.leaf_index)}` : null,
      release: null, approvals: [] as string[],
    };
  });
}

export type JobOverview = Awaited<ReturnType<typeof jobOverview>>;

async function privacyOf(db: Db, view: JobView) {
  const spec = view.spec as typeof view.spec & { privacy?: { noiseMultiplier?: unknown; budgets?: unknown } };
  const { rows } = await db.query<{ epoch: number; status: string; param_set: string }>(
    'SELECT epoch, status, param_set FROM job_keys WHERE job_id = $1 ORDER BY epoch DESC LIMIT 1', [view.id]);
  const key = rows[0];
  // What the sites' ledgers charged for this run, as their reports reached the audit trail.
  const spent = await privacyTotals(db, view.id);
  const dp = (view.spec as { dp?: { noiseMultiplier?: unknown } }).dp;
  return {
    encryption: {
      enabled: view.encrypted,
      paramSet: spec.encryption?.enabled ? spec.encryption.paramSet : null,
      keyEpoch: key?.epoch ?? null,
      keyStatus: key?.status ?? null,
    },
    clipNorm: spec.encryption?.clipNorm ?? null,
    noiseMultiplier: typeof dp?.noiseMultiplier === 'number' ? dp.noiseMultiplier
      : typeof spec.privacy?.noiseMultiplier === 'number' ? spec.privacy.noiseMultiplier : null,
    budgets: spent.map((t) => ({
      name: t.site, dataset: t.dataset, rounds: t.spends, spent: t.epsilon, delta: t.delta,
      ledgerSpent: t.epsilonTotal, epsilon: t.epsilonBudget, remaining: t.epsilonRemaining,
    })),
  };
}

// ---- audit events ------------------------------------------------------------------------

const AUDIT_OUTCOMES = ['success', 'denied', 'failure'] as const;
const AuditQuery = Type.Object({
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  actor: Type.Optional(Type.String({ maxLength: 300 })),
  role: Type.Optional(Type.String({ maxLength: 40 })),
  site: Type.Optional(Type.String({ maxLength: 63 })),
  action: Type.Optional(Type.String({ maxLength: 100 })),
  outcome: Type.Optional(Type.Union(AUDIT_OUTCOMES.map((o) => Type.Literal(o)))),
  job: Type.Optional(Type.String({ maxLength: 200 })),
  before: Type.Optional(Type.Integer({ minimum: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
});
type AuditQueryT = { from?: string; to?: string; actor?: string; role?: string; site?: string; action?: string; outcome?: string;
  job?: string; before?: number; limit?: number };

/** Filter columns: query field -> SQL condition on audit_events (values are always bound parameters). */
const AUDIT_FILTERS: ReadonlyArray<[keyof AuditQueryT, string]> = [
  ['from', 'at >= $?'], ['to', 'at <= $?'], ['actor', 'actor = $?'], ['role', 'role = $?'], ['site', 'site = $?'],
  ['action', 'action LIKE $? ESCAPE \'\\\''], ['outcome', 'outcome = $?'], ['job', 'job = $?'], ['before', 'seq < $?'],
];

/** `action` matches a prefix when it ends with `*` (e.g. `auth.*`); LIKE wildcards in it are taken literally. */
function auditValue(key: keyof AuditQueryT, v: string | number): string | number {
  if (key !== 'action' || typeof v !== 'string') return v;
  const literal = v.replace(/[\\%_]/g, (c) => `\\${c}`);
  return literal.endsWith('*') ? `${literal.slice(0, -1)}%` : literal;
}

export async function auditEvents(db: Db, q: AuditQueryT) {
  const where: string[] = [];
  const params: (string | number)[] = [];
  for (const [key, cond] of AUDIT_FILTERS) {
    const v = q[key];
    if (v === undefined || v === '') continue;
    params.push(auditValue(key, v));
    where.push(cond.replace('$?', `$${params.length}`));
  }
  const limit = q.limit ?? 100;
  params.push(limit + 1);
  const { rows } = await db.query<{ seq: string | number; at: Date; action: string; actor: string; role: string; site: string | null;
    job: string | null; outcome: string; event: string }>(
    `SELECT seq, at, action, actor, role, site, job, outcome, event FROM audit_events
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT $${params.length}`, params);
  const page = rows.slice(0, limit);
  const events = page.map((r) => {
    let parsed: Record<string, unknown> = {};
    try { parsed = JSON.parse(r.event) as Record<string, unknown>; } catch { /* the verifier reports a bad entry; listing still works */ }
    return { seq: Number(r.seq), at: r.at, action: r.action, actor: r.actor, role: r.role, site: r.site, job: r.job, outcome: r.outcome,
      resource: str(parsed.resource), rule: str(parsed.rule), requestId: str(parsed.request_id ?? parsed.requestId) };
  });
  return { events, next: rows.length > limit ? events.at(-1)?.seq ?? null : null };
}

// ---- routes ------------------------------------------------------------------------------

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
const ErrorBody = Type.Object({ code: Type.String(), message: Type.String() });
const Loose = Type.Object({}, { additionalProperties: true });

/** Writes one server-sent event. */
function sse(reply: FastifyReply, event: string, data: unknown): void {
  reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/**
 * The live stream of a job's overview: a snapshot at once, another after every change (at most 4 per
 * second, only when something changed), `end` when the job is finished, `reauth` when the token that
 * opened the stream expires (the client reconnects with a fresh one, so a stream never outlives a logoff).
 */
async function streamOverview(deps: RunsRouteDeps, req: FastifyRequest, reply: FastifyReply, jobId: string): Promise<void> {
  const viewer = principalOf(req);
  const first = await jobOverview(deps, jobId, viewer); // unknown job: a normal JSON 404 before the stream opens
  await settleBeforeHijack(req); // the request's audit event is durable before the stream opens
  reply.hijack();
  reply.raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no',
  });
  let last = '';
  let closed = false;
  let pending: NodeJS.Timeout | null = null;
  let lastSent = 0;
  const timers: NodeJS.Timeout[] = [];
  const finish = (event?: string, data?: unknown) => {
    if (closed) return;
    closed = true;
    deps.engine.events.off('changed', onChange);
    for (const t of timers) clearTimeout(t);
    if (pending) clearTimeout(pending);
    if (event) sse(reply, event, data ?? {});
    reply.raw.end();
  };
  const send = async () => {
    pending = null;
    if (closed) return;
    lastSent = Date.now();
    try {
      const o = await jobOverview(deps, jobId, viewer);
      const text = JSON.stringify(o);
      if (text !== last && !closed) {
        last = text;
        reply.raw.write(`event: overview\ndata: ${text}\n\n`);
      }
      if (FINISHED.has(o.job.status)) finish('end', { status: o.job.status });
    } catch (err) {
      deps.log.warn({ err, job: jobId }, 'job stream stopped');
      finish('error', { code: 'STREAM_FAILED', message: 'the overview could not be read; reconnect' });
    }
  };
  const onChange = () => {
    if (closed || pending) return;
    pending = setTimeout(() => void send(), Math.max(0, STREAM_MIN_INTERVAL_MS - (Date.now() - lastSent)));
  };
  last = JSON.stringify(first);
  lastSent = Date.now();
  reply.raw.write(`retry: 2000\nevent: overview\ndata: ${last}\n\n`);
  if (FINISHED.has(first.job.status)) return finish('end', { status: first.job.status });
  deps.engine.events.on('changed', onChange);
  req.raw.on('close', () => finish());
  const keepalive = setInterval(() => { if (!closed) reply.raw.write(': keepalive\n\n'); }, STREAM_KEEPALIVE_MS);
  keepalive.unref();
  timers.push(keepalive);
  if (viewer.expiresAt !== null) {
    const ms = Math.max(0, viewer.expiresAt * 1000 - Date.now());
    timers.push(setTimeout(() => finish('reauth', { reason: 'the access token that opened this stream expired' }), ms));
  }
  // Deadlines pass without an engine event: look again every few seconds so "last heartbeat" stays true.
  const tick = setInterval(onChange, 5_000);
  tick.unref();
  timers.push(tick);
  // A logout, a revoked key or a suspended site (here or through another replica) ends the stream too.
  const stillStanding = deps.stillStanding;
  if (stillStanding) {
    let checking = false;
    const recheck = setInterval(() => {
      if (closed || checking) return;
      checking = true;
      stillStanding(viewer).then(
        () => { checking = false; },
        (err: unknown) => {
          checking = false;
          const code = (err as { code?: unknown }).code;
          if (typeof code === 'string' && code.startsWith('AUTH_')) finish('reauth', { reason: (err as Error).message, code });
          else deps.log.warn({ err, job: jobId }, 'could not re-check the viewer of a job stream; will try again');
        },
      );
    }, STREAM_RECHECK_MS);
    recheck.unref();
    timers.push(recheck);
  }
}

export function registerRunRoutes(app: FastifyInstance, deps: RunsRouteDeps): void {
  app.get('/v1/jobs/:id/overview', {
    schema: {
      summary: 'Everything the run page shows about one job, filtered by the caller\'s role and site',
      params: IdParams, response: { 200: Loose, 404: ErrorBody },
    },
  }, async (req) => jobOverview(deps, (req.params as { id: string }).id, principalOf(req)));

  app.get('/v1/jobs/:id/events', {
    schema: {
      summary: 'Server-sent events: `overview` snapshots of the job as it changes, then `end` (or `reauth` when the token expires)',
      params: IdParams,
      response: { 200: { description: 'text/event-stream of `overview` events (the body of GET /v1/jobs/{id}/overview)', content: { 'text/event-stream': { schema: Type.String() } } }, 404: ErrorBody },
    },
  }, async (req, reply) => streamOverview(deps, req, reply, (req.params as { id: string }).id));

  app.get('/v1/audit/events', {
    schema: {
      summary: 'Audit events, newest first, filtered by time, actor, role, site, action (`prefix*`), outcome and job',
      querystring: AuditQuery,
      response: { 200: Type.Object({ events: Type.Array(Loose), next: Type.Union([Type.Integer(), Type.Null()]) }), 400: ErrorBody },
    },
  }, async (req) => {
    const q = req.query as AuditQueryT;
    if (q.from && q.to && Date.parse(q.from) > Date.parse(q.to)) throw new FederationError('VALIDATION_FAILED', `from ${q.from} is after to ${q.to}`);
    return auditEvents(deps.db, q);
  });
}
