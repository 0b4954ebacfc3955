import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Role } from '@medfed/proto/auth/index';
import { AuthError } from '@medfed/proto/auth/index';
import { ConfigError } from '@medfed/proto';
import type { AuthDecision } from '../../auth/decision.js';
import type { AuthService } from '../../auth/auth-service.js';
import { requestHtus } from '../../auth/rest/request-htu.js';
import type { FederationEngine } from '../../federation/engine.js';
import { CONNECTED_WITHIN_SECONDS, connectedSitesByProtocol } from '../../federation/site-versions.js';
import type { Db } from '../../storage/db.js';

/**
 * Prometheus metrics of one coordinator. Counters are fed by events (engine `timing`, authorization
 * decisions, token responses); figures that live in the database (rounds, submissions, bytes, when each
 * site was last seen) are read at scrape time, so they are right after a restart and across replicas.
 * One registry per coordinator (tests run several in one process), found through its engine.
 */
export class CoordinatorMetrics {
  /** What any scrape sees: no site or job identifiers. */
  readonly registry = new Registry();
  /** Series labelled with site ids: only for a scrape with a credential, or where the operator opted in. */
  readonly identified = new Registry();
  private readonly aggregation: Histogram<'encrypted'>;
  private readonly persist: Histogram;
  private readonly roundsClosed: Counter<'encrypted'>;
  private readonly tokens: Counter<'grant' | 'outcome'>;
  private readonly denials: Counter<'transport' | 'rule' | 'code'>;

  constructor(engine: FederationEngine, db: Db) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry, prefix: 'medfed_' });
    this.aggregation = new Histogram({
      name: 'medfed_aggregation_seconds', help: 'Time to aggregate one round (engine timing event round-closed)',
      labelNames: ['encrypted'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [registry],
    });
    this.persist = new Histogram({
      name: 'medfed_update_persist_seconds', help: 'Time to store one accepted update (blob and rows)',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [registry],
    });
    this.roundsClosed = new Counter({ name: 'medfed_rounds_closed_total', help: 'Rounds aggregated by this process', labelNames: ['encrypted'], registers: [registry] });
    this.tokens = new Counter({ name: 'medfed_tokens_issued_total', help: 'Token endpoint answers (REST), by grant and outcome', labelNames: ['grant', 'outcome'], registers: [registry] });
    this.denials = new Counter({ name: 'medfed_authz_denials_total', help: 'Refused requests and calls, by transport, rule and code', labelNames: ['transport', 'rule', 'code'], registers: [registry] });

    new Gauge({
      name: 'medfed_rounds', help: 'Rounds in the database by kind and status', labelNames: ['kind', 'status'], registers: [registry],
      async collect() {
        this.reset();
        const { rows } = await db.query<{ kind: string; status: string; n: string }>('SELECT kind, status, count(*) AS n FROM rounds GROUP BY kind, status');
        for (const r of rows) this.set({ kind: r.kind, status: r.status }, Number(r.n));
      },
    });
    new Gauge({
      name: 'medfed_jobs', help: 'Jobs by status', labelNames: ['status'], registers: [registry],
      async collect() {
        this.reset();
        const { rows } = await db.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM jobs GROUP BY status');
        for (const r of rows) this.set({ status: r.status }, Number(r.n));
      },
    });
    const submissions = new Gauge({ name: 'medfed_submissions', help: 'Accepted update submissions (all jobs)', registers: [registry] });
    new Gauge({
      name: 'medfed_submission_bytes', help: 'Bytes of accepted update submissions (all jobs)', registers: [registry],
      async collect() {
        const { rows } = await db.query<{ n: string; bytes: string | null }>('SELECT count(*) AS n, sum(byte_size) AS bytes FROM contributions');
        this.set(Number(rows[0]?.bytes ?? 0));
        submissions.set(Number(rows[0]?.n ?? 0));
      },
    });
    new Gauge({
      name: 'medfed_site_last_seen_timestamp_seconds', help: 'When each site last called in (enrollment, heartbeat), Unix seconds',
      labelNames: ['site'], registers: [this.identified],
      async collect() {
        this.reset();
        const { rows } = await db.query<{ id: string; last_seen_at: Date | null }>('SELECT id, last_seen_at FROM sites');
        for (const r of rows) if (r.last_seen_at) this.set({ site: r.id }, Math.floor(r.last_seen_at.getTime() / 1000));
      },
    });
    // No site label: how far an upgrade has got, not which hospital lags (that is GET /v1/sites).
    new Gauge({
      name: 'medfed_agent_protocol_version_sites',
      help: `Sites whose agent announced this protocol version within the last ${CONNECTED_WITHIN_SECONDS} s`,
      labelNames: ['protocol'], registers: [registry],
      async collect() {
        this.reset();
        for (const [protocol, n] of await connectedSitesByProtocol(db)) this.set({ protocol }, n);
      },
    });

    engine.events.on('timing', (t: Record<string, unknown>) => {
      const encrypted = t.encrypted === true ? 'true' : 'false';
      if (t.phase === 'round-closed') {
        this.roundsClosed.inc({ encrypted });
        if (typeof t.aggregateMs === 'number') this.aggregation.observe({ encrypted }, t.aggregateMs / 1000);
      } else if (t.phase === 'persist-update' && typeof t.ms === 'number') {
        this.persist.observe(t.ms / 1000);
      }
    });
  }

  /** Feed of every authorization decision (server.ts passes them on). */
  observeDecision(d: AuthDecision): void {
    if (d.effect === 'deny') this.denials.inc({ transport: d.transport, rule: d.rule, code: d.code ?? 'none' });
  }

  observeTokenResponse(grant: string, status: number): void {
    this.tokens.inc({ grant, outcome: status === 200 ? 'issued' : 'refused' });
  }
}

const byEngine = new WeakMap<FederationEngine, CoordinatorMetrics>();

/** The metrics of the coordinator that runs this engine (created on first use). */
export function metricsFor(engine: FederationEngine, db: Db): CoordinatorMetrics {
  let m = byEngine.get(engine);
  if (!m) {
    m = new CoordinatorMetrics(engine, db);
    byEngine.set(engine, m);
  }
  return m;
}

/**
 * Which open operational routes require a token: none by default. `MEDFED_OPS_REQUIRE_TOKEN` lists
 * them (`metrics`, `openapi`, comma-separated, or `all`), for deployments that expose the REST port widely.
 */
export function opsTokenRequirement(env: NodeJS.ProcessEnv = process.env): ReadonlySet<'metrics' | 'openapi'> {
  const raw = (env.MEDFED_OPS_REQUIRE_TOKEN ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const all = raw.includes('all');
  return new Set((['metrics', 'openapi'] as const).filter((k) => all || raw.includes(k)));
}

/** Roles that may read an operational route when it requires a token. */
const OPS_ROLES: readonly Role[] = ['admin', 'auditor'];

/** Checks the Bearer token of an open operational route when the deployment requires one. */
export async function requireOpsToken(auth: AuthService, req: FastifyRequest): Promise<void> {
  const principal = await auth.authenticate({ authorization: req.headers.authorization, dpop: typeof req.headers.dpop === 'string' ? req.headers.dpop : undefined,
    proofTarget: { htm: req.method, htu: requestHtus(req, auth.settings) } });
  if (!principal) throw new AuthError('AUTH_CREDENTIAL_MISSING', `${req.url.split('?')[0]} requires a Bearer token on this coordinator (MEDFED_OPS_REQUIRE_TOKEN)`);
  if (!OPS_ROLES.includes(principal.role)) throw new AuthError('AUTH_ROLE_FORBIDDEN', `${req.url.split('?')[0]} is for ${OPS_ROLES.join(' and ')} only`);
}

/**
 * Who may see the site-labelled series: a scrape presenting the token in `MEDFED_METRICS_SCRAPE_TOKEN_FILE`
 * (Prometheus `authorization: { credentials_file }`), an admin or auditor token, or everyone where the
 * operator opted in with `MEDFED_METRICS_SITE_LABELS=1`. A credential that does not hold is refused.
 */
async function mayIdentifySites(auth: AuthService, req: FastifyRequest, env: NodeJS.ProcessEnv): Promise<boolean> {
  const header = req.headers.authorization;
  if (header === undefined) return env.MEDFED_METRICS_SITE_LABELS === '1';
  const expected = await scrapeToken(env);
  if (expected !== null && header.startsWith('Bearer ') && sameSecret(header.slice(7).trim(), expected)) return true;
  await requireOpsToken(auth, req);
  return true;
}

async function scrapeToken(env: NodeJS.ProcessEnv): Promise<string | null> {
  const file = env.MEDFED_METRICS_SCRAPE_TOKEN_FILE;
  if (!file) return null;
  const token = (await readFile(file, 'utf8')).trim();
  if (token.length < 32) throw new ConfigError('CONFIG_INVALID', `the metrics scrape token in ${file} must be at least 32 characters`);
  return token;
}

function sameSecret(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

export interface MetricsRouteDeps {
  readonly engine: FederationEngine;
  readonly db: Db;
  readonly auth: AuthService;
}

export function registerMetricsRoute(app: FastifyInstance, deps: MetricsRouteDeps, required = opsTokenRequirement()): void {
  const metrics = metricsFor(deps.engine, deps.db);
  app.addHook('onResponse', async (req, reply) => {
    if (req.method !== 'POST' || req.routeOptions.url !== '/v1/auth/token') return;
    const body = req.body as Record<string, unknown> | undefined;
    const grant = ['api_key', 'assertion', 'id_token', 'refresh'].find((g) => body?.[g] !== undefined) ?? 'invalid';
    metrics.observeTokenResponse(grant, reply.statusCode);
  });
  app.get('/metrics', {
    schema: {
      summary: 'Prometheus metrics (text exposition format)',
      response: { 200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
  }, async (req, reply) => {
    if (required.has('metrics') && req.headers.authorization === undefined) await requireOpsToken(deps.auth, req);
    const identify = await mayIdentifySites(deps.auth, req, process.env);
    reply.header('content-type', metrics.registry.contentType);
    reply.header('cache-control', 'no-store');
    return identify ? Registry.merge([metrics.registry, metrics.identified]).metrics() : metrics.registry.metrics();
  });
}
