import type { FastifyInstance } from 'fastify';
import Type, { type TSchema } from 'typebox';
import { AdmitTrainerSchema, CreateJobSchema, RegisterSiteSchema } from '../../schemas/job.js';
import { AddJobSiteSchema, EpochChangeAnswer, JobKeysAnswer, KeyCeremonySchema } from '../../schemas/key-epochs.js';
import type { AuthService } from '../../auth/auth-service.js';
import { opsTokenRequirement, requireOpsToken } from './metrics.js';
import { StatsQuerySchema } from '@medfed/proto/stats/index';

/**
 * `/openapi.json`: OpenAPI 3.1 generated from the route schemas, collected as routes are registered. Routes whose handlers validate their own bodies (`validated(...)`) or predate
 * route schemas are described by the table below, so the document covers every route; a route's own
 * schema wins over the table. A test checks that every served route appears with request and response schemas.
 */
const ErrorBody = Type.Object({ code: Type.String(), message: Type.String() }, { description: 'every refusal: a stable code and an actionable message' });
const Loose = Type.Object({}, { additionalProperties: true });
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
const SiteView = Type.Object({
  id: Type.String(), displayName: Type.String(), status: Type.String(),
  lastSeenAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]), agentVersion: Type.Union([Type.String(), Type.Null()]),
  protocolVersion: Type.Union([Type.String({ description: 'the protocol version (MAJOR.MINOR) its agent last announced' }), Type.Null()]),
  versionSeenAt: Type.Union([Type.String({ format: 'date-time', description: 'when its agent last announced protocolVersion and agentVersion' }), Type.Null()]),
});
const TokenBody = Type.Object({
  api_key: Type.Optional(Type.String({ description: 'people: mfk_<id>_<secret>' })),
  assertion: Type.Optional(Type.String({ description: 'agents: RFC 7523 client assertion, with a DPoP header' })),
  id_token: Type.Optional(Type.String({ description: 'login with the configured OpenID Connect provider' })),
  refresh: Type.Optional(Type.Literal(true)),
}, { description: 'exactly one of the four grants', additionalProperties: false });
const TokenAnswer = Type.Object({ access_token: Type.String(), token_type: Type.Union([Type.Literal('Bearer'), Type.Literal('DPoP')]), expires_in: Type.Integer() });

interface Documented {
  readonly summary: string;
  readonly body?: TSchema;
  readonly params?: TSchema;
  readonly query?: TSchema;
  readonly response: TSchema;
  /** For a body that is not JSON (archives, model bytes). */
  readonly contentType?: string;
  readonly status?: number;
}

/** Request and response schemas of routes that do not declare them themselves, by `METHOD /url`. */
export const DOCUMENTED_ROUTES: Readonly<Record<string, Documented>> = {
  'GET /healthz': { summary: 'Liveness', response: Type.Object({ status: Type.String() }) },
  'GET /readyz': { summary: 'Readiness: 503 DATABASE_UNAVAILABLE while the database is unreachable (a standby replica answers 503 NOT_LEADER)', response: Type.Object({ status: Type.String() }) },
  'GET /.well-known/jwks.json': { summary: 'Public keys that sign access tokens', response: Type.Object({ keys: Type.Array(Loose) }) },
  'POST /v1/auth/token': { summary: 'Exchange an API key, a client assertion or a provider token for an access token; or refresh a session', body: TokenBody, response: TokenAnswer },
  'GET /v1/auth/whoami': { summary: 'The caller', response: Type.Object({ sub: Type.String(), role: Type.String(), site: Type.Union([Type.String(), Type.Null()]) }) },
  'POST /v1/auth/logout': { summary: 'End the session', body: Type.Object({}), response: Type.Object({ status: Type.Literal('logged-out') }) },
  'POST /v1/admin/api-keys': {
    summary: 'Create an API key (shown once)', status: 201,
    body: Type.Object({ name: Type.String(), role: Type.String(), site: Type.Optional(Type.String()), expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 })) }),
    response: Type.Object({ id: Type.String(), apiKey: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }),
  },
  'GET /v1/admin/api-keys': { summary: 'API keys (never their secrets)', response: Type.Object({ keys: Type.Array(Loose) }) },
  'DELETE /v1/admin/api-keys/:id': { summary: 'Revoke an API key; its sessions end at once', params: IdParams, response: Type.Object({ id: Type.String(), revoked: Type.Boolean() }) },
  'POST /v1/admin/signing-keys/rotate': { summary: 'Rotate the token signing key', body: Type.Object({}), response: Type.Object({ kid: Type.String(), published: Type.Array(Type.String()) }) },
  'POST /v1/sites/:id/enrollment-codes': {
    summary: 'A one-time enrollment code for a site\'s agent', status: 201, params: IdParams, body: Type.Object({}),
    response: Type.Object({ site: Type.String(), enrollmentCode: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }),
  },
  'POST /v1/sites/:id/suspend': { summary: 'Suspend a site: none of its credentials are honoured', params: IdParams, body: Type.Object({}), response: Type.Object({ id: Type.String(), status: Type.String() }) },
  'POST /v1/sites/:id/reinstate': { summary: 'Lift a suspension', params: IdParams, body: Type.Object({}), response: Type.Object({ id: Type.String(), status: Type.String() }) },
  'POST /v1/sites/:id/revoke': {
    summary: 'Revoke a site for good: its keys retire, it cannot enrol again or be reinstated; running encrypted jobs drop it',
    params: IdParams, body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }),
    response: Type.Object({ id: Type.String(), status: Type.Literal('revoked'), revokedAt: Type.String(), alreadyRevoked: Type.Boolean() }),
  },
  'GET /v1/sites': { summary: 'Sites (a site-bound role sees its own)', response: Type.Object({ sites: Type.Array(SiteView) }) },
  'GET /v1/sites/:id': { summary: 'One site', params: IdParams, response: SiteView },
  'POST /v1/sites': { summary: 'Register a site', status: 201, body: RegisterSiteSchema, response: Type.Object({ id: Type.String(), displayName: Type.String(), status: Type.String() }) },
  'GET /v1/jobs': { summary: 'Jobs (a site-bound role sees the jobs its site takes part in)', response: Type.Object({ jobs: Type.Array(Loose) }) },
  'POST /v1/jobs': { summary: 'Create a job; round 0 or 1 opens at once', status: 201, body: CreateJobSchema, response: Type.Object({ id: Type.String(), status: Type.String(), currentRound: Type.Integer() }) },
  'GET /v1/jobs/:id': { summary: 'Everything about a job, including what its current round waits for', params: IdParams, response: Loose },
  'POST /v1/stats/queries': {
    summary: 'Submit a federated statistics query (docs/statistics.md); sites answer with masked, encrypted per-group sums', status: 201,
    body: StatsQuerySchema, response: Type.Object({ id: Type.String(), status: Type.String() }),
  },
  'GET /v1/stats/queries/:id': { summary: "A statistics query's status and result, masked by the caller's role", params: IdParams, response: Loose },
  'POST /v1/jobs/:id/trainers': {
    summary: 'Admit a trainer build for a job through the supply-chain gate', status: 201, params: IdParams,
    body: AdmitTrainerSchema, response: Loose,
  },
  'GET /v1/jobs/:id/artifacts': {
    summary: 'Model versions of a job with their manifest digest and log leaf', params: IdParams,
    query: Type.Object({ round: Type.Optional(Type.Integer({ minimum: 0 })), kind: Type.Optional(Type.String()) }),
    response: Type.Object({ artifacts: Type.Array(Loose) }),
  },
  'GET /v1/jobs/:id/artifacts/:model/evidence': {
    summary: 'Signed manifest, log checkpoint and inclusion proof of one model version',
    params: Type.Object({ id: Type.String(), model: Type.String() }), response: Loose,
  },
  'GET /v1/jobs/:id/artifacts/:model/blob': {
    summary: 'The model bytes (digest in x-medfed-sha256)', params: Type.Object({ id: Type.String(), model: Type.String() }),
    response: Type.String({ contentEncoding: 'binary' }), contentType: 'application/octet-stream',
  },
  'GET /v1/log/checkpoint': { summary: 'The transparency log\'s latest signed checkpoint', response: Type.Object({ tree_size: Type.Integer(), checkpoint: Type.String(), log_key: Type.String() }) },
  'GET /v1/log/proofs/inclusion': {
    summary: 'Inclusion proof of a log leaf', query: Type.Object({ leaf_index: Type.Integer({ minimum: 0 }), tree_size: Type.Optional(Type.Integer({ minimum: 1 })) }),
    response: Type.Object({ leaf_index: Type.Integer(), tree_size: Type.Integer(), hashes: Type.Array(Type.String()) }),
  },
  'GET /v1/log/proofs/consistency': {
    summary: 'Consistency proof between two log sizes', query: Type.Object({ from: Type.Integer({ minimum: 1 }), to: Type.Optional(Type.Integer({ minimum: 1 })) }),
    response: Type.Object({ from: Type.Integer(), to: Type.Integer(), hashes: Type.Array(Type.String()) }),
  },
  'GET /v1/audit/export': {
    summary: 'Signed audit bundle (tar.gz) for a time range, job or site, with transparency-log evidence (auditor)',
    query: Type.Object({ from: Type.Optional(Type.String({ format: 'date-time' })), to: Type.Optional(Type.String({ format: 'date-time' })),
      job: Type.Optional(Type.String()), site: Type.Optional(Type.String()) }),
    response: Type.String({ contentEncoding: 'binary' }), contentType: 'application/gzip',
  },
  'POST /v1/jobs/:id/sites': {
    summary: 'A site joins a running job; an encrypted job starts a new key epoch wrapped for the new site list', status: 201, params: IdParams,
    body: AddJobSiteSchema, response: EpochChangeAnswer,
  },
  'DELETE /v1/jobs/:id/sites/:site': {
    summary: 'A site leaves a running job; an encrypted job starts a new key epoch without it',
    params: Type.Object({ id: Type.String(), site: Type.String() }), response: EpochChangeAnswer,
  },
  'POST /v1/jobs/:id/key-ceremony': {
    summary: "Start a new key epoch for the job's current site list (key rotation)", status: 201, params: IdParams,
    body: KeyCeremonySchema, response: EpochChangeAnswer,
  },
  'GET /v1/jobs/:id/keys': { summary: "A job's key epochs: site lists, ceremony state, key ids (no key material)", params: IdParams, response: JobKeysAnswer },
  'POST /v1/jobs/:id/stop': { summary: 'Stop a job', params: IdParams, body: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }), response: Type.Object({ id: Type.String(), status: Type.String() }) },
};

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** Fills in what a route does not declare from DOCUMENTED_ROUTES; every route gets the error body for 4xx. */
function documentRoute(method: string, url: string, schema: Record<string, unknown> | undefined): Record<string, unknown> {
  const doc = DOCUMENTED_ROUTES[`${method} ${url}`];
  const out: Record<string, unknown> = { ...(schema ?? {}) };
  if (doc) {
    out.summary ??= doc.summary;
    if (doc.params && !out.params) out.params = doc.params;
    if (doc.query && !out.querystring) out.querystring = doc.query;
    if (doc.body && !out.body && BODY_METHODS.has(method)) out.body = doc.body;
    const response = { ...((out.response as Record<string, unknown> | undefined) ?? {}) };
    const status = String(doc.status ?? 200);
    if (!Object.keys(response).some((k) => k.startsWith('2'))) {
      response[status] = doc.contentType ? { description: doc.summary, content: { [doc.contentType]: { schema: doc.response } } } : doc.response;
    }
    out.response = response;
  }
  const response = (out.response as Record<string, unknown> | undefined) ?? {};
  if (!response['4xx'] && !Object.keys(response).some((k) => k.startsWith('4'))) out.response = { ...response, '4xx': ErrorBody };
  return out;
}

interface CollectedRoute {
  readonly method: string;
  readonly url: string;
  readonly schema: Record<string, unknown> | undefined;
}

/** Fastify's `/v1/jobs/:id` and `/ui/*` as OpenAPI path templates. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}').replace(/\*$/, '{asset}');
}

function plain(schema: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema ?? {})) as Record<string, unknown>; // drops TypeBox's symbol keys
}

function parametersOf(where: 'path' | 'query', schema: unknown): Record<string, unknown>[] {
  const s = plain(schema) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, prop]) => ({
    name: name === '*' ? 'asset' : name, in: where, required: where === 'path' || (s.required ?? []).includes(name),
    ...(typeof prop.description === 'string' ? { description: prop.description } : {}), schema: prop,
  }));
}

function responsesOf(response: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [status, raw] of Object.entries(response)) {
    const r = plain(raw) as { description?: string; content?: unknown };
    const key = /^\dxx$/i.test(status) ? status.toUpperCase() : status;
    if (r.content) out[key] = { description: r.description ?? 'response', content: r.content };
    else if ((r as { type?: unknown }).type === 'null') out[key] = { description: r.description ?? 'no body' };
    else out[key] = { description: r.description ?? (status.startsWith('2') ? 'success' : 'refusal: {code, message}'), content: { 'application/json': { schema: r } } };
  }
  return out;
}

/** The OpenAPI 3.1 document of the collected routes (JSON Schema 2020-12, so the route schemas go in as they are). */
function buildDocument(routes: readonly CollectedRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    if (r.method === 'HEAD' || r.schema?.hide === true) continue;
    const s = documentRoute(r.method, r.url, r.schema);
    const parameters = [...parametersOf('path', s.params), ...parametersOf('query', s.querystring)];
    const open = (s.response as Record<string, unknown> | undefined) ?? {};
    const op: Record<string, unknown> = {
      operationId: `${r.method.toLowerCase()} ${r.url}`,
      ...(typeof s.summary === 'string' ? { summary: s.summary } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(s.body ? { requestBody: { required: true, content: { 'application/json': { schema: plain(s.body) } } } } : {}),
      responses: responsesOf(open),
    };
    (paths[openApiPath(r.url)] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'medfed coordinator', version: '1', description: 'Operator REST API. Every route but the open ones needs `Authorization: Bearer <token>` (POST /v1/auth/token). Errors are `{code, message}` (docs/errors.md).' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    security: [{ bearer: [] }],
    paths,
  };
}

/**
 * Starts collecting routes. Call before any route is added: a synchronous `onRoute` hook sees every
 * route of every plugin (a plugin such as @fastify/swagger loads too late for routes added directly on the root).
 */
export function registerOpenApi(app: FastifyInstance): void {
  const routes: CollectedRoute[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, schema: route.schema as Record<string, unknown> | undefined });
  });
  let cached: string | null = null;
  app.decorate('openapiDocument', () => (cached ??= JSON.stringify(buildDocument(routes))));
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The OpenAPI document of every route, as JSON text (built once, on first use). */
    openapiDocument(): string;
  }
}

/** `GET /openapi.json`: the generated document. Open unless MEDFED_OPS_REQUIRE_TOKEN names `openapi`. */
export function registerOpenApiRoute(app: FastifyInstance, auth: AuthService, required = opsTokenRequirement()): void {
  app.get('/openapi.json', {
    schema: { summary: 'This document (OpenAPI 3)', response: { 200: { description: 'OpenAPI 3 document', content: { 'application/json': { schema: Loose } } } } },
  }, async (req, reply) => {
    if (required.has('openapi')) await requireOpsToken(auth, req);
    reply.header('cache-control', 'no-store');
    reply.header('content-type', 'application/json; charset=utf-8');
    return app.openapiDocument();
  });
}
