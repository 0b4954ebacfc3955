import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthError } from '@medfed/proto/auth/index';
import type { AuthService } from '../auth-service.js';
import { needsTarget, type TargetSites } from '../policy/decide.js';
import { REST_NOT_FOUND } from '../policy/policy.js';
import { OPEN_OPERATION } from '../decision.js';
import type { Principal } from '../principal.js';
import { toPublicErrorWithAuth } from '../public-error.js';
import { requestHtus } from './request-htu.js';
import './request-context.js';

export interface RestAuthOptions {
  /** The sites taking part in a job, or null when there is no such job. */
  readonly jobSites: (jobId: string) => Promise<readonly string[] | null>;
}

export interface RegisteredRoute {
  readonly method: string;
  readonly url: string;
}

/** The policy operation of a request: `METHOD /route/:param`; HEAD is decided as GET. */
function operationOf(req: FastifyRequest): string {
  const url = req.routeOptions.url;
  if (req.is404 || !url) return REST_NOT_FOUND;
  return `${req.method === 'HEAD' ? 'GET' : req.method} ${url}`;
}

function paramId(req: FastifyRequest): string {
  const id = (req.params as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? id : '';
}

function send(reply: FastifyReply, err: unknown): FastifyReply {
  const p = toPublicErrorWithAuth(err);
  if (p.http === 401) reply.header('www-authenticate', 'Bearer realm="medfed", DPoP algs="EdDSA ES256"');
  return reply.status(p.http).send({ code: p.code, message: p.message });
}

/**
 * Puts every REST request through the policy: one `onRequest` hook at the root (so no route, and
 * not the not-found handler either, can be missed) and an `onRoute` registry of what is served.
 * Call it before any route is registered. Startup fails if a route has no policy entry.
 */
export function installRestAuth(app: FastifyInstance, auth: AuthService, options: RestAuthOptions): { routes(): readonly RegisteredRoute[] } {
  const routes: RegisteredRoute[] = [];
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  app.addHook('onReady', async () => {
    const missing = routes.filter((r) => r.method !== 'HEAD' && !auth.policyEntry('rest', `${r.method} ${r.url}`));
    if (missing.length > 0) {
      throw new AuthError('AUTH_NO_POLICY', `routes without a policy entry: ${missing.map((r) => `${r.method} ${r.url}`).join(', ')}`);
    }
  });

  const targetOf = async (req: FastifyRequest, kind: string | undefined): Promise<TargetSites | undefined> => {
    if (kind === 'site-param') return { sites: [paramId(req)], match: 'all' };
    if (kind === 'job-param') return { sites: (await options.jobSites(paramId(req)).catch(() => null)) ?? [], match: 'among' };
    return undefined;
  };

  app.addHook('onRequest', async (req, reply) => {
    const operation = operationOf(req);
    const entry = auth.policyEntry('rest', operation);
    const requestId = String(req.id);
    if (entry?.access === 'public') {
      auth.record({ transport: 'rest', operation, principal: null, verdict: { effect: 'allow', rule: entry.rule, code: null, reason: OPEN_OPERATION }, requestId });
      return;
    }
    let principal: Principal | null;
    try {
      principal = await auth.authenticate({
        authorization: req.headers.authorization,
        dpop: typeof req.headers.dpop === 'string' ? req.headers.dpop : undefined,
        proofTarget: { htm: req.method, htu: requestHtus(req, auth.settings) },
      });
    } catch (err) {
      const p = toPublicErrorWithAuth(err);
      auth.record({ transport: 'rest', operation, principal: null, verdict: { effect: 'deny', rule: 'authenticate', code: p.code, reason: p.message }, requestId });
      return send(reply, err);
    }
    let verdict = auth.decide('rest', operation, principal);
    let targetSites: readonly string[] = [];
    if (entry && needsTarget(entry, verdict)) {
      const target = await targetOf(req, entry.target);
      targetSites = target?.sites ?? [];
      verdict = auth.decide('rest', operation, principal, target);
    }
    auth.record({ transport: 'rest', operation, principal, verdict, targetSites, requestId });
    if (verdict.effect === 'deny') return send(reply, new AuthError(verdict.code ?? 'AUTH_NO_POLICY', verdict.reason));
    req.principal = principal;
  });
  return { routes: () => routes };
}
