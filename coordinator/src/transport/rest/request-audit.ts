import type { FastifyInstance, FastifyRequest } from 'fastify';
import { runInRequestScope, type RequestEvents, type RequestScope } from '../../audit/request-events.js';
import { toPublicErrorWithAuth } from '../../auth/public-error.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's audit scope (one event per request); null where the app runs without one. */
    auditScope: RequestScope | null;
  }
}

/** The stable error code of an error body (`{code, message}`), if the payload is one. */
function codeOf(payload: unknown): string | null {
  if (typeof payload !== 'string' || !payload.startsWith('{')) return null;
  try {
    const code = (JSON.parse(payload) as { code?: unknown }).code;
    return typeof code === 'string' ? code : null;
  } catch {
    return null;
  }
}

/**
 * For a route that takes over the raw response (`reply.hijack()`, e.g. a server-sent event stream):
 * no `onSend` runs then, so the request's event is written here, before the stream opens. Throws
 * when it cannot be written (the route then answers with the error instead of streaming).
 */
export async function settleBeforeHijack(req: FastifyRequest): Promise<void> {
  const scope = req.auditScope;
  const events = scope ? owners.get(scope) : undefined;
  if (!scope || !events) return;
  try {
    await events.settle(scope, { ok: true, status: 200, code: null });
  } finally {
    events.close(scope);
  }
}

/** Which RequestEvents opened a scope (for settleBeforeHijack). */
const owners = new WeakMap<RequestScope, RequestEvents>();

/**
 * One audit event per REST request. Registered before the auth hook: opens the request's scope
 * (the id is the caller's `x-request-id` when well-formed, echoed back), runs the handler inside it
 * so the action's own event carries the request id and rule, and before the response leaves makes
 * sure exactly one event is durable: the refusal, the action's event, or the allow decision with
 * the outcome. If that write fails the response becomes the write failure (fail closed).
 */
export function installRequestAudit(app: FastifyInstance, events: RequestEvents): void {
  app.decorateRequest('auditScope', null);
  app.addHook('onRequest', (req, reply, done) => {
    req.auditScope = events.open(String(req.id));
    owners.set(req.auditScope, events);
    reply.header('x-request-id', String(req.id));
    done();
  });
  app.addHook('preHandler', (req, _reply, done) => {
    runInRequestScope(req.auditScope ?? undefined, done);
  });
  app.addHook('onSend', async (req, reply, payload) => {
    const scope = req.auditScope;
    if (!scope) return payload;
    const status = reply.statusCode;
    try {
      await events.settle(scope, { ok: status < 400, status, code: status >= 400 ? codeOf(payload) : null });
      return payload;
    } catch (err) {
      const p = toPublicErrorWithAuth(err);
      req.log.error({ err }, 'the request could not be recorded in the audit trail; answering with an error');
      reply.status(p.http >= 500 ? p.http : 503).header('content-type', 'application/json; charset=utf-8').removeHeader('content-length');
      return JSON.stringify({ code: p.code, message: p.message });
    } finally {
      events.close(scope);
    }
  });
  const drop = (req: { auditScope: RequestScope | null }) => {
    if (req.auditScope) events.close(req.auditScope);
  };
  app.addHook('onResponse', async (req) => drop(req));
  app.addHook('onRequestAbort', async (req) => drop(req));
}
