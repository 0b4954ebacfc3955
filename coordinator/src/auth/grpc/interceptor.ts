import * as grpc from '@grpc/grpc-js';
import { AuthError, NODE_ROLE } from '@medfed/proto/auth/index';
import type { AuthService, DecisionInput } from '../auth-service.js';
import { needsTarget } from '../policy/decide.js';
import { OPEN_OPERATION } from '../decision.js';
import type { TargetKind } from '../policy/policy.js';
import type { Principal } from '../principal.js';
import { toPublicErrorWithAuth } from '../public-error.js';
import { callCredentials } from './call-target.js';
import { refusalStatus } from './status.js';
import { bindRequestScope, type RequestEvents, type RequestScope } from '../../audit/request-events.js';

/** The principal of each admitted call, keyed by the metadata object the handler receives. */
const PRINCIPALS = new WeakMap<grpc.Metadata, Principal>();

/** The authenticated caller of a call admitted by the interceptor (handlers that need it: RotateKey). */
export function callPrincipal(metadata: grpc.Metadata): Principal | undefined {
  return PRINCIPALS.get(metadata);
}

const ANONYMOUS_NODE: Principal = {
  kind: 'anonymous-node', sub: 'anonymous', role: NODE_ROLE, site: null, sessionId: null, tokenId: null, expiresAt: null, keyThumbprint: null,
};

/** The site a message names, for the policy's target kinds; undefined when this message names none. */
function siteOfMessage(kind: TargetKind | undefined, message: unknown): string | undefined {
  const m = message as { siteId?: unknown; part?: { $case?: string; value?: { siteId?: unknown } } } | null;
  if (kind === 'message-site') return typeof m?.siteId === 'string' ? m.siteId : '';
  if (kind === 'update-header-site') {
    return m?.part?.$case === 'header' && typeof m.part.value?.siteId === 'string' ? m.part.value.siteId : undefined;
  }
  return undefined;
}

/**
 * One server interceptor for every method of every service on the server (Federation and Health):
 * it authenticates the metadata when the call opens, decides by the policy (default deny), decides
 * the site scope on the first message that names a site, and ends a stream that outlives its token
 * by more than the grace. A method with no policy entry is refused before its handler runs.
 */
type PartialStatus = Pick<grpc.StatusObject, 'code' | 'details'> & { metadata?: grpc.Metadata | null };

/** The stable code a status carries (`medfed-code` trailer, or the `CODE: ` message prefix). */
function statusCode(status: PartialStatus): string | null {
  const trailer = status.metadata?.get('medfed-code')[0];
  if (typeof trailer === 'string') return trailer;
  return /^([A-Z][A-Z0-9_]{1,63}):/.exec(status.details ?? '')?.[1] ?? null;
}

/**
 * With `events`, every call is one audit event (docs/audit-format.md): the call gets a request id
 * (the caller's `x-request-id` metadata when well-formed), its handler runs in that request's scope,
 * and its status goes out only once the call's one event is durable.
 */
export function authInterceptor(auth: AuthService, events?: RequestEvents): grpc.ServerInterceptor {
  return (method, call) => {
    const operation = method.path;
    const entry = auth.policyEntry('grpc', operation);
    let principal: Principal | null = null;
    let scopeDecided = false;
    let closed = false;
    let expiry: NodeJS.Timeout | undefined;
    let admitted: Promise<boolean> = Promise.resolve(false);
    let requestId: string | null = null;
    let scope: RequestScope | null = null;

    /** Sends `status` once the call's event is durable; if it cannot be written, the call fails instead. */
    const finish = <S extends PartialStatus>(status: S, next: (s: S | grpc.StatusObject) => void) => {
      const s = scope;
      scope = null;
      if (!events || !s) return next(status);
      const ok = status.code === grpc.status.OK;
      events.settle(s, { ok, status: status.code, code: ok ? null : statusCode(status) })
        .then(() => next(status), (err: unknown) => next(refusalStatus(err)))
        .finally(() => events.close(s));
    };
    const refuse = (err: unknown) => {
      if (closed) return;
      closed = true;
      clearTimeout(expiry);
      finish(refusalStatus(err), (s) => call.sendStatus(s));
    };
    const record = (verdict: DecisionInput['verdict'], targetSites: readonly string[] = []) =>
      auth.record({ transport: 'grpc', operation, principal, verdict, targetSites, requestId });

    const admit = async (metadata: grpc.Metadata): Promise<boolean> => {
      if (events) {
        requestId = events.requestId(metadata.get('x-request-id')[0]);
        scope = events.open(requestId);
        bindRequestScope(metadata, scope);
      }
      if (entry?.access === 'public') {
        record({ effect: 'allow', rule: entry.rule, code: null, reason: OPEN_OPERATION });
        scopeDecided = true;
        return true;
      }
      try {
        principal = await auth.authenticate(callCredentials(auth.settings, metadata, operation));
      } catch (err) {
        const p = toPublicErrorWithAuth(err);
        record({ effect: 'deny', rule: 'authenticate', code: p.code, reason: p.message });
        refuse(err);
        return false;
      }
      if (!principal && auth.settings.allowAnonymousNodes) principal = ANONYMOUS_NODE;
      const verdict = auth.decide('grpc', operation, principal);
      if (verdict.effect === 'deny') {
        record(verdict);
        refuse(new AuthError(verdict.code ?? 'AUTH_NO_POLICY', verdict.reason));
        return false;
      }
      if (!entry || !needsTarget(entry, verdict)) {
        record(verdict);
        scopeDecided = true;
      }
      if (principal?.expiresAt) {
        const endsAt = (principal.expiresAt + auth.settings.streamGraceSeconds) * 1000;
        expiry = setTimeout(() => refuse(new AuthError('AUTH_STREAM_EXPIRED',
          `this call outlived its token by more than ${auth.settings.streamGraceSeconds} s; retry it with a fresh token`)), Math.max(0, endsAt - Date.now()));
        expiry.unref();
      }
      if (principal) PRINCIPALS.set(metadata, principal);
      return true;
    };

    return new grpc.ServerInterceptingCall(call, {
      start: (next) => next({
        onReceiveMetadata: (metadata, pass) => {
          admitted = admit(metadata).catch((err: unknown) => {
            refuse(err);
            return false;
          });
          void admitted.then((ok) => { if (ok && !closed) pass(metadata); });
        },
        onReceiveMessage: (message, pass) => {
          void admitted.then((ok) => {
            if (!ok || closed) return;
            if (scopeDecided) return pass(message);
            const site = siteOfMessage(entry?.target, message);
            if (site === undefined) return pass(message); // names no site yet: the handler refuses what is out of order
            const verdict = auth.decide('grpc', operation, principal, { sites: [site], match: 'all' });
            record(verdict, [site]);
            scopeDecided = true;
            if (verdict.effect === 'deny') return refuse(new AuthError(verdict.code ?? 'AUTH_SITE_SCOPE', verdict.reason));
            pass(message);
          });
        },
        onCancel: () => {
          closed = true;
          clearTimeout(expiry);
          // A call the client abandoned still counts: its decision is written with the cancellation.
          finish({ code: grpc.status.CANCELLED, details: 'CANCELLED: the client cancelled the call', metadata: new grpc.Metadata() }, () => {});
        },
      }),
      sendStatus: (status, next) => {
        closed = true;
        clearTimeout(expiry);
        finish(status, next);
      },
    });
  };
}
