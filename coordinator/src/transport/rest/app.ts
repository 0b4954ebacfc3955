import Fastify, { LogController, type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import Type from 'typebox';
import { FederationError } from '../../federation/errors.js';
import { participantsOf } from '../../federation/participants.js';
import type { Actor } from '../../federation/audit-recorder.js';
import type { FederationEngine } from '../../federation/engine.js';
import type { SiteRow } from '../../federation/rows.js';
import { describeJob } from '../../federation/job-view.js';
import { AdmitTrainerSchema, CreateJobSchema, RegisterSiteSchema } from '../../schemas/job.js';
import { validated } from '../../schemas/validate.js';
import { AddJobSiteSchema, KeyCeremonySchema } from '../../schemas/key-epochs.js';
import type { Db } from '../../storage/db.js';
import type { AuthService } from '../../auth/auth-service.js';
import { installRestAuth, type RegisteredRoute } from '../../auth/rest/auth-hook.js';
import { registerAuthRoutes } from '../../auth/rest/auth-routes.js';
import { listScope, principalOf } from '../../auth/rest/request-context.js';
import { toPublicErrorWithAuth } from '../../auth/public-error.js';
import type { PublishingRouteDeps } from './routes/publishing-deps.js';
import { registerLogRoutes } from './routes/log-routes.js';
import { registerArtifactRoutes } from './routes/artifact-routes.js';
import { registerAuditExportRoute } from './routes/audit-export-route.js';
import { registerAuditPurgeRoute } from './routes/audit-purge-route.js';
import { registerGovernanceRoutes } from './routes/governance-routes.js';
import { registerOpenApi, registerOpenApiRoute } from './openapi.js';
import { registerMetricsRoute } from './metrics.js';
import { registerUi } from './ui.js';
import { registerRunRoutes } from './runs.js';
import { registerStatisticsRoutes } from '../../statistics/routes.js';
import { registerReleaseRoutes } from './routes/release-routes.js';
import { registerTrustRoutes } from './routes/trust-routes.js';
import type { CertificateExpiry } from '../../keys/expiry.js';
import type { ReleaseService } from '../../releases/release-service.js';
import { installRequestAudit } from './request-audit.js';
import type { RequestEvents } from '../../audit/request-events.js';

export interface RestDeps {
  readonly engine: FederationEngine;
  readonly db: Db;
  readonly log: Logger;
  /** Authenticates and authorises every request by the one policy (docs/auth.md). */
  readonly auth: AuthService;
  readonly bodyLimit: number;
  /** TLS (PEM); without it the app serves plain HTTP (loopback development only, enforced by server.ts). */
  readonly https?: { readonly key: Buffer; readonly cert: Buffer; readonly ca?: Buffer; readonly requestCert?: boolean } | undefined;
  /** Signed model distribution, the transparency log and the audit export (absent: those routes are not served). */
  readonly publishing?: Omit<PublishingRouteDeps, 'engine' | 'db'> | undefined;
  /** One audit event per request (docs/audit-format.md); absent: decisions are recorded as they are made. */
  readonly requestEvents?: RequestEvents | undefined;
  /** `audit.retentionDays`: the purge refuses to cut newer than this (or the roster's rule) without the stewards' signed approvals. */
  readonly auditRetentionDays?: number | undefined;
  /** The release workflow and the registry of released models (absent: those routes are not served). */
  readonly releases?: ReleaseService | undefined;
  /** Readiness (`GET /readyz`): 503 while the database is unreachable; absent: always ready. */
  readonly readiness?: (() => { ready: boolean; reason?: string }) | undefined;
  /** When the served certificates expire (`GET /v1/trust/expiry`); with `publishing`, also serves `GET /v1/trust/anchors`. */
  readonly certificateExpiry?: CertificateExpiry | undefined;
}

export type RestApp = FastifyInstance & { readonly registeredRoutes: () => readonly RegisteredRoute[] };

const ErrorBody = Type.Object({ code: Type.String(), message: Type.String() });
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

/** The audit actor of a request: the authenticated principal. */
function actorOf(req: FastifyRequest): Actor {
  const p = principalOf(req);
  return { actor: p.sub, role: p.role, site: p.site, requestId: String(req.id), rule: req.auditScope?.rule ?? null };
}

function siteView(s: Pick<SiteRow, 'id' | 'display_name' | 'status' | 'last_seen_at' | 'agent_version' | 'protocol_version' | 'version_seen_at'>) {
  return {
    id: s.id, displayName: s.display_name, status: s.status, lastSeenAt: s.last_seen_at, agentVersion: s.agent_version,
    protocolVersion: s.protocol_version, versionSeenAt: s.version_seen_at,
  };
}

/** Builds the REST application without listening (tests use `inject`). Every error body is `{code, message}`. */
export function buildRestApp(deps: RestDeps): RestApp {
  const options: FastifyServerOptions & { https?: Record<string, unknown> } = {
    loggerInstance: deps.log as unknown as FastifyServerOptions['loggerInstance'],
    bodyLimit: deps.bodyLimit,
    requestTimeout: 30_000,
    logController: new LogController({ disableRequestLogging: true }),
    ...(deps.requestEvents ? { genReqId: (req: { headers: Record<string, unknown> }) => deps.requestEvents!.requestId(req.headers['x-request-id']) } : {}),
    ...(deps.https ? { https: { ...deps.https, rejectUnauthorized: deps.https.requestCert ?? false } } : {}),
  };
  const app = Fastify(options as FastifyServerOptions) as FastifyInstance;
  // First of all: the request's audit scope, so that even a refusal by the auth hook is one event.
  if (deps.requestEvents) installRequestAudit(app, deps.requestEvents);
  // Before any route: every route, and the not-found handler, goes through the policy.
  const restAuth = installRestAuth(app, deps.auth, {
    jobSites: async (jobId) => {
      try {
        const job = await deps.engine.job(jobId);
        return participantsOf(job.spec);
      } catch {
        return null;
      }
    },
  });
  registerOpenApi(app); // before any route: it collects them as they are added

  app.setErrorHandler((err: Error & { validation?: unknown; statusCode?: number; code?: string }, req, reply) => {
    if (err.validation) {
      return reply.status(400).send({ code: 'VALIDATION_FAILED', message: err.message });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.status(413).send({ code: 'PAYLOAD_TOO_LARGE', message: err.message });
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.status(415).send({ code: 'UNSUPPORTED_MEDIA_TYPE', message: err.message });
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) {
      return reply.status(400).send({ code: 'VALIDATION_FAILED', message: `request body is not valid JSON: ${err.message}` });
    }
    const p = toPublicErrorWithAuth(err);
    if (p.http >= 500) req.log.error({ err }, 'request failed');
    return reply.status(p.http).send({ code: p.code, message: p.message });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` }));

  app.get('/healthz', { schema: { response: { 200: Type.Object({ status: Type.String() }) } } }, async () => ({ status: 'ok' }));
  // Readiness, for load balancers and probes: this replica leads and reaches its database.
  app.get('/readyz', async (_req, reply) => {
    const r = deps.readiness?.() ?? { ready: true };
    if (r.ready) return { status: 'ready' };
    return reply.status(503).send({ code: 'DATABASE_UNAVAILABLE', message: r.reason ?? 'not ready' });
  });
  registerAuthRoutes(app, deps.auth);
  if (deps.publishing) registerLogRoutes(app, { ...deps, ...deps.publishing });
  if (deps.publishing) registerArtifactRoutes(app, { ...deps, ...deps.publishing });
  if (deps.publishing) registerAuditExportRoute(app, { ...deps, ...deps.publishing });
  if (deps.publishing) registerAuditPurgeRoute(app, { ...deps, ...deps.publishing, retentionDays: deps.auditRetentionDays });
  registerGovernanceRoutes(app, { db: deps.db, retentionDays: deps.auditRetentionDays });
  registerOpenApiRoute(app, deps.auth);
  registerMetricsRoute(app, deps);
  registerUi(app, deps.auth);
  registerRunRoutes(app, { ...deps, stillStanding: (viewer) => deps.auth.assertStillStanding(viewer) });
  if (deps.releases) registerReleaseRoutes(app, deps.releases);
  if (deps.publishing && deps.certificateExpiry) registerTrustRoutes(app, { auth: deps.auth, publisher: deps.publishing.publisher, expiry: deps.certificateExpiry });
  registerStatisticsRoutes(app, deps);

  app.register(async (api) => {
    api.get('/sites', { schema: { response: { 401: ErrorBody } } }, async (req) => {
      const scope = listScope(req);
      const sites = (await deps.engine.listSites()).filter((s) => scope === null || s.id === scope);
      return { sites: sites.map(siteView) };
    });

    api.get('/sites/:id', { schema: { params: IdParams } }, async (req) => {
      const { id } = req.params as { id: string };
      return siteView(await deps.engine.site(id));
    });

    api.post('/sites', async (req, reply) => {
      const body = validated(RegisterSiteSchema, req.body, 'site');
      const site = await deps.engine.registerSite(body.id, body.displayName ?? body.id, actorOf(req));
      return reply.status(201).send({ id: site.id, displayName: site.display_name, status: site.status });
    });

    api.get('/jobs', async (req) => {
      const scope = listScope(req);
      const jobs = (await deps.engine.listJobs())
        .filter((j) => scope === null || participantsOf(j.spec).includes(scope));
      return { jobs: jobs.map((j) => ({ id: j.id, name: j.name, owner: j.owner, status: j.status, currentRound: j.current_round,
        totalRounds: j.total_rounds, createdAt: j.created_at, failure: j.failure })) };
    });

    api.post('/jobs', async (req, reply) => {
      const body = validated(CreateJobSchema, req.body, 'job');
      const by = actorOf(req);
      // Ownership is who authenticated, never what the body says (kept in the schema only to say so clearly).
      if (body.owner !== undefined && body.owner !== by.actor) {
        throw new FederationError('JOB_OWNER_NOT_SETTABLE', `a job is owned by the principal that creates it (${by.actor}); remove "owner" from the request`);
      }
      const job = await deps.engine.createJob(body.spec, by.actor, by);
      return reply.status(201).send({ id: job.id, status: job.status, currentRound: job.current_round });
    });

    api.get('/jobs/:id', { schema: { params: IdParams } }, async (req) => {
      const { id } = req.params as { id: string };
      return describeJob(deps.engine, deps.db, id);
    });

    api.post('/jobs/:id/trainers', { schema: { params: IdParams } }, async (req, reply) => {
      const { id } = req.params as { id: string };
      const body = validated(AdmitTrainerSchema, req.body, 'trainer admission');
      return reply.status(201).send(await deps.engine.admitTrainer(id, body, actorOf(req)));
    });

    // Key epochs (docs/crypto.md): a site joins or leaves a running job, or the keys rotate.
    api.post('/jobs/:id/sites', { schema: { params: IdParams } }, async (req, reply) => {
      const { id } = req.params as { id: string };
      const body = validated(AddJobSiteSchema, req.body, 'site');
      return reply.status(201).send(await deps.engine.changeJobSites(id, { add: body.siteId, ...(body.role ? { role: body.role } : {}) }, actorOf(req)));
    });

    api.delete('/jobs/:id/sites/:site', { schema: { params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }), site: Type.String({ minLength: 1, maxLength: 200 }) }) } }, async (req) => {
      const { id, site } = req.params as { id: string; site: string };
      return deps.engine.changeJobSites(id, { remove: site }, actorOf(req));
    });

    api.post('/jobs/:id/key-ceremony', { schema: { params: IdParams } }, async (req, reply) => {
      const { id } = req.params as { id: string };
      validated(KeyCeremonySchema, req.body, 'key ceremony');
      return reply.status(201).send(await deps.engine.rotateJobKeys(id, actorOf(req)));
    });

    api.get('/jobs/:id/keys', { schema: { params: IdParams } }, async (req) => {
      const { id } = req.params as { id: string };
      return deps.engine.jobKeys(id);
    });

    api.post('/jobs/:id/stop', { schema: { params: IdParams } }, async (req) => {
      const { id } = req.params as { id: string };
      const body = (req.body ?? {}) as { reason?: unknown };
      if (body.reason !== undefined && typeof body.reason !== 'string') {
        throw new FederationError('VALIDATION_FAILED', 'reason must be a string');
      }
      const job = await deps.engine.stopJob(id, (body.reason as string | undefined)?.slice(0, 500) ?? 'stopped by an operator', actorOf(req));
      return { id: job.id, status: job.status };
    });
  }, { prefix: '/v1' });

  return Object.assign(app, { registeredRoutes: restAuth.routes });
}
