import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { principalOf } from '../auth/rest/request-context.js';
import type { FederationEngine } from '../federation/engine.js';
import type { Actor } from '../federation/audit-recorder.js';
import { FederationError } from '../federation/errors.js';
import type { Db } from '../storage/db.js';
import { isStatisticsSpec } from './spec.js';
import { describeStatsQuery } from './view.js';

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

function actorOf(req: FastifyRequest): Actor {
  const p = principalOf(req);
  return { actor: p.sub, role: p.role, site: p.site, requestId: String(req.id) };
}

/** `POST /v1/stats/queries` (submit a query) and `GET /v1/stats/queries/:id` (status and result, masked by role). */
export function registerStatisticsRoutes(app: FastifyInstance, deps: { readonly engine: FederationEngine; readonly db: Db }): void {
  // The body is validated by parseStatsQuery (defaults, schema, consistency) inside submit.
  app.post('/v1/stats/queries', async (req, reply) => {
    const job = await deps.engine.statistics.submit(req.body, actorOf(req));
    return reply.status(201).send({ id: job.id, status: 'collecting' });
  });

  app.get('/v1/stats/queries/:id', { schema: { params: IdParams } }, async (req) => {
    const { id } = req.params as { id: string };
    const job = await deps.engine.job(id);
    if (!isStatisticsSpec(job.spec)) throw new FederationError('UNKNOWN_JOB', `no statistics query "${id}" exists`);
    const row = await deps.engine.statistics.row(id);
    const p = principalOf(req);
    return describeStatsQuery(deps.db, job, row, { role: p.role, site: p.site });
  });
}
