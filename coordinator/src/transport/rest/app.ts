import { timingSafeEqual, createHash } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import Type from 'typebox';
import { FederationError } from '../../federation/errors.js';
import type { FederationEngine } from '../../federation/engine.js';
import { describeJob } from '../../federation/job-view.js';
import { CreateJobSchema, RegisterSiteSchema } from '../../schemas/job.js';
import { validated } from '../../schemas/validate.js';
import type { Db } from '../../storage/db.js';
import { toPublicError } from '../errors.js';

export interface RestDeps {
  readonly engine: FederationEngine;
  readonly db: Db;
  readonly log: Logger;
  /** Bearer token that authorises the operator API until per-user credentials exist. */
  readonly adminToken: string;
  readonly bodyLimit: number;
}

const ErrorBody = Type.Object({ code: Type.String(), message: Type.String() });
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Builds the REST application without listening (tests use `inject`). Every error body is `{code, message}`. */
export function buildRestApp(deps: RestDeps): FastifyInstance {
  const options: FastifyServerOptions = {
    loggerInstance: deps.log as unknown as FastifyServerOptions['loggerInstance'],
    bodyLimit: deps.bodyLimit,
    requestTimeout: 30_000,
    logController: new LogController({ disableRequestLogging: true }),
  };
  const app = Fastify(options);

  app.setErrorHandler((err: Error & { validation?: unknown; statusCode?: number; code?: string }, req, reply) => {
    if (err.validation) {
      return reply.status(400).send({ code: 'VALIDATION_FAILED', message: err.message });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.status(413).send({ code: 'PAYLOAD_TOO_LARGE', message: err.message });
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.status(415).send({ code: 'UNSUPPORTED_MEDIA_TYPE', message: err.message });
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) {
      return reply.status(400).send({ code: 'VALIDATION_FAILED', message: `request body is not valid JSON: ${err.message}` });
    }
    const p = toPublicError(err);
    if (p.http >= 500) req.log.error({ err }, 'request failed');
    return reply.status(p.http).send({ code: p.code, message: p.message });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` }));

  app.get('/healthz', { schema: { response: { 200: Type.Object({ status: Type.String() }) } } }, async () => ({ status: 'ok' }));

  app.register(async (api) => {
    api.addHook('onRequest', async (req, reply) => {
      const header = req.headers.authorization ?? '';
      const token = header.startsWith('Bearer ') ? header.slice(7) : '';
      if (!token || !tokenMatches(token, deps.adminToken)) {
        return reply.status(401).send({ code: 'UNAUTHENTICATED', message: 'a valid bearer token is required' });
      }
    });

    api.get('/sites', { schema: { response: { 401: ErrorBody } } }, async () => {
      const sites = await deps.engine.listSites();
      return { sites: sites.map((s) => ({ id: s.id, displayName: s.display_name, status: s.status, lastSeenAt: s.last_seen_at, agentVersion: s.agent_version })) };
    });

    api.post('/sites', async (req, reply) => {
      const body = validated(RegisterSiteSchema, req.body, 'site');
      const site = await deps.engine.registerSite(body.id, body.displayName ?? body.id);
      return reply.status(201).send({ id: site.id, displayName: site.display_name, status: site.status });
    });

    api.get('/jobs', async () => {
      const jobs = await deps.engine.listJobs();
      return { jobs: jobs.map((j) => ({ id: j.id, name: j.name, owner: j.owner, status: j.status, currentRound: j.current_round,
        totalRounds: j.total_rounds, createdAt: j.created_at, failure: j.failure })) };
    });

    api.post('/jobs', async (req, reply) => {
      const body = validated(CreateJobSchema, req.body, 'job');
      const job = await deps.engine.createJob(body.spec, body.owner ?? 'admin');
      return reply.status(201).send({ id: job.id, status: job.status, currentRound: job.current_round });
    });

    api.get('/jobs/:id', { schema: { params: IdParams } }, async (req) => {
      const { id } = req.params as { id: string };
      return describeJob(deps.engine, deps.db, id);
    });

    api.post('/jobs/:id/stop', { schema: { params: IdParams } }, async (req) => {
      const { id } = req.params as { id: string };
      const body = (req.body ?? {}) as { reason?: unknown };
      if (body.reason !== undefined && typeof body.reason !== 'string') {
        throw new FederationError('VALIDATION_FAILED', 'reason must be a string');
      }
      const job = await deps.engine.stopJob(id, (body.reason as string | undefined)?.slice(0, 500) ?? 'stopped by an operator');
      return { id: job.id, status: job.status };
    });
  }, { prefix: '/v1' });

  return app;
}
