import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Static } from 'typebox';
import { MedfedError, type ErrorTable } from '@medfed/proto';
import { MASKING_ERRORS } from '../masking/index.js';
import { PRIVACY_ERRORS } from '../privacy/errors.js';
import type { AccessEntry, AccessLog } from './access-log.js';
import { QUERY_API_ERRORS } from './errors.js';
import type { Authenticate } from './identity/authenticate.js';
import type { Caller } from './identity/caller.js';
import type { QueryService, Usage } from './query-service.js';
import { AggregatesBody, EmptyQuery, RecordsBody, RecordsQueryString } from './request-schemas.js';

export interface QueryAppOptions {
  readonly authenticate: Authenticate;
  readonly service: QueryService;
  readonly accessLog: AccessLog;
  readonly https?: FastifyServerOptions & { https: { cert: Buffer; key: Buffer } };
  readonly onError?: (err: unknown) => void;
}

/** Codes answered with their own message; anything else is answered by code only (it may quote data). */
const PUBLIC_TABLES: readonly ErrorTable[] = [QUERY_API_ERRORS, MASKING_ERRORS, PRIVACY_ERRORS];

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
    usage?: Usage;
  }
}

/**
 * The hospital's local query API (docs/query-api.md). Build and listen are separate (server.ts);
 * every request is authenticated against the hospital's identity, validated against its schema,
 * answered through the masking library and written to the access log, refusals included.
 */
export function buildQueryApp(options: QueryAppOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    genReqId: () => randomUUID(),
    bodyLimit: 64 * 1024,
    ...(options.https ?? {}),
  }) as unknown as FastifyInstance;

  app.addHook('onRequest', async (request) => {
    request.caller = await options.authenticate(request.headers.authorization);
  });

  app.addHook('onResponse', async (request, reply) => {
    await writeAccess(options.accessLog, request, reply.statusCode, (reply as FastifyReply & { medfedCode?: string }).medfedCode);
  });

  app.setErrorHandler(async (error, request, reply) => {
    const { status, code, message } = publicError(error, options.onError);
    (reply as FastifyReply & { medfedCode?: string }).medfedCode = code;
    return reply.status(status).send({ code, message });
  });
  app.setNotFoundHandler(async (_request, reply) => {
    (reply as FastifyReply & { medfedCode?: string }).medfedCode = 'QUERY_NOT_FOUND';
    return reply.status(404).send({ code: 'QUERY_NOT_FOUND', message: 'no such endpoint' });
  });

  app.get('/v1/schema', { schema: { querystring: EmptyQuery } }, async (request) => options.service.schema(request.caller!));

  app.get<{ Querystring: Static<typeof RecordsQueryString> }>('/v1/records', { schema: { querystring: RecordsQueryString } }, async (request) => {
    const q = request.query;
    const { body, usage } = await options.service.records(request.caller!, {
      ...(q.select === undefined ? {} : { select: q.select.split(',').map((s) => s.trim()) }),
      ...(q.where === undefined ? {} : { where: q.where.map(parseWhere) }),
      ...(q.orderBy === undefined ? {} : { orderBy: q.orderBy.split(',').map((o) => (o.startsWith('-') ? { field: o.slice(1), direction: 'desc' as const } : { field: o, direction: 'asc' as const })) }),
      ...(q.study === undefined ? {} : { study: q.study }),
      ...(q.limit === undefined ? {} : { limit: q.limit }),
      ...(q.offset === undefined ? {} : { offset: q.offset }),
    });
    request.usage = usage;
    return body;
  });

  app.post<{ Body: Static<typeof RecordsBody> }>('/v1/records/query', { schema: { body: RecordsBody } }, async (request) => {
    const { body, usage } = await options.service.records(request.caller!, request.body);
    request.usage = usage;
    return body;
  });

  app.post<{ Body: Static<typeof AggregatesBody> }>('/v1/aggregates', { schema: { body: AggregatesBody } }, async (request) => {
    const { body, usage } = await options.service.aggregates(request.caller!, request.body);
    request.usage = usage;
    return body;
  });

  return app;
}

function parseWhere(text: string): { field: string; equals: string } {
  const at = text.indexOf('=');
  return { field: text.slice(0, at), equals: text.slice(at + 1) };
}

function publicError(error: unknown, onError?: (err: unknown) => void): { status: number; code: string; message: string } {
  const validation = (error as { validation?: unknown; validationContext?: string }).validation;
  if (validation !== undefined) {
    return { status: 400, code: 'QUERY_INVALID', message: `${(error as Error).message}`.slice(0, 500) };
  }
  if (error instanceof MedfedError) {
    for (const table of PUBLIC_TABLES) {
      const spec = table[error.code];
      if (spec !== undefined) return { status: spec.http, code: error.code, message: error.message };
    }
    onError?.(error);
    // Data-layer and other messages may quote a cell: the caller gets the code, the site's log the detail.
    return { status: 500, code: error.code, message: "the site's data could not be served; the site's log has the detail" };
  }
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status: 400, code: 'QUERY_INVALID', message: 'the request is not well formed (body, content type or size)' };
  }
  onError?.(error);
  return { status: 500, code: 'QUERY_FAILED', message: 'the request failed; the site\'s log has the detail' };
}

async function writeAccess(log: AccessLog, request: FastifyRequest, status: number, code: string | undefined): Promise<void> {
  const caller = request.caller;
  const entry: AccessEntry = {
    time: new Date().toISOString(),
    requestId: String(request.id),
    user: caller?.userId ?? null,
    role: caller?.role ?? null,
    auth: caller?.method ?? null,
    method: request.method,
    route: request.routeOptions.url ?? 'unknown',
    status,
    ...(code === undefined ? {} : { code }),
    ...(request.usage === undefined ? {} : { fields: request.usage.fields, rows: request.usage.rows, epsilon: request.usage.epsilon }),
  };
  await log.append(entry);
}
