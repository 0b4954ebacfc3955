import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthError, SCHEME_DPOP } from '@medfed/proto/auth/index';
import type { AuthService } from '../auth-service.js';
import type { IssuedToken } from '../tokens/access-token.js';
import { principalOf } from './request-context.js';
import { requestHtus } from './request-htu.js';

const TOKEN_GRANTS = ['api_key', 'assertion', 'id_token', 'refresh'] as const;

function tokenResponse(reply: FastifyReply, issued: IssuedToken, type: 'Bearer' | 'DPoP') {
  reply.header('cache-control', 'no-store');
  return { access_token: issued.token, token_type: type, expires_in: issued.expiresIn };
}

function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw new AuthError('AUTH_REQUEST_INVALID', 'the request body must be a JSON object');
  return b as Record<string, unknown>;
}

/**
 * The REST side of identity: the key set, the token endpoint, whoami/logout, API keys, enrollment
 * codes, suspension and signing-key rotation. Authorization happened in the hook before any of these run.
 */
export function registerAuthRoutes(app: FastifyInstance, auth: AuthService): void {
  app.get('/.well-known/jwks.json', async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return auth.jwks();
  });

  /**
   * One token endpoint, four grants (exactly one field): `api_key` (people: Bearer token, new session),
   * `assertion` (agents, with a DPoP header: key-bound token), `id_token` (external OpenID Connect login),
   * `refresh: true` (with the current Bearer token: a fresh token for the same, still active session).
   */
  app.post('/v1/auth/token', async (req, reply) => {
    const b = body(req);
    const present = TOKEN_GRANTS.filter((g) => b[g] !== undefined);
    const extra = Object.keys(b).filter((k) => !(TOKEN_GRANTS as readonly string[]).includes(k));
    if (present.length !== 1 || extra.length > 0) {
      throw new AuthError('AUTH_REQUEST_INVALID', `the body must hold exactly one of ${TOKEN_GRANTS.join(', ')}${extra.length ? `; unknown: ${extra.join(', ')}` : ''}`);
    }
    switch (present[0]) {
      case 'api_key':
        return tokenResponse(reply, await auth.loginWithApiKey(b.api_key), 'Bearer');
      case 'id_token':
        return tokenResponse(reply, await auth.loginWithOidc(b.id_token), 'Bearer');
      case 'assertion': {
        const proof = typeof req.headers.dpop === 'string' ? req.headers.dpop : undefined;
        return tokenResponse(reply, await auth.issueNodeToken(b.assertion, proof, { htm: 'POST', htu: requestHtus(req, auth.settings) }), SCHEME_DPOP);
      }
      default: {
        if (b.refresh !== true) throw new AuthError('AUTH_REQUEST_INVALID', 'refresh must be true');
        const principal = await auth.authenticate({ authorization: req.headers.authorization, dpop: undefined, proofTarget: { htm: 'POST', htu: requestHtus(req, auth.settings) } });
        if (!principal) throw new AuthError('AUTH_CREDENTIAL_MISSING', 'refresh needs the current token as Authorization: Bearer <token>');
        return tokenResponse(reply, await auth.refreshSession(principal), 'Bearer');
      }
    }
  });

  app.get('/v1/auth/whoami', async (req) => {
    const p = principalOf(req);
    return { sub: p.sub, role: p.role, site: p.site };
  });

  app.post('/v1/auth/logout', async (req) => {
    await auth.logout(principalOf(req));
    return { status: 'logged-out' };
  });

  app.post('/v1/admin/api-keys', async (req, reply) => {
    const b = body(req);
    const created = await auth.createApiKey({ name: b.name, role: b.role, site: b.site, days: b.expiresInDays, createdBy: principalOf(req).sub });
    reply.header('cache-control', 'no-store');
    return reply.status(201).send({ id: created.id, apiKey: created.key, expiresAt: created.expiresAt.toISOString() });
  });

  app.get('/v1/admin/api-keys', async () => ({ keys: await auth.listApiKeys() }));

  app.delete('/v1/admin/api-keys/:id', async (req) => {
    const { id } = req.params as { id: string };
    await auth.revokeApiKey(id);
    return { id, revoked: true };
  });

  app.post('/v1/admin/signing-keys/rotate', async () => {
    const fresh = await auth.keys.rotate();
    return { kid: fresh.kid, published: auth.jwks().keys.map((k) => k.kid) };
  });

  app.post('/v1/sites/:id/enrollment-codes', async (req, reply) => {
    const { id } = req.params as { id: string };
    const { code, expiresAt } = await auth.createEnrollmentCode(id, principalOf(req).sub);
    reply.header('cache-control', 'no-store');
    return reply.status(201).send({ site: id, enrollmentCode: code, expiresAt: expiresAt.toISOString() });
  });

  app.post('/v1/sites/:id/suspend', async (req) => {
    const { id } = req.params as { id: string };
    return { id, status: await auth.setSiteSuspended(id, true) };
  });

  app.post('/v1/sites/:id/reinstate', async (req) => {
    const { id } = req.params as { id: string };
    return { id, status: await auth.setSiteSuspended(id, false) };
  });

  app.post('/v1/sites/:id/revoke', async (req) => {
    const { id } = req.params as { id: string };
    const reason = body(req).reason;
    if (typeof reason !== 'string' || reason.trim().length === 0 || reason.length > 500) {
      throw new AuthError('AUTH_REQUEST_INVALID', 'reason is required (1 to 500 characters): why the site is revoked, for the audit trail');
    }
    const revoked = await auth.revokeSite(id, principalOf(req).sub, reason.trim());
    return { id, status: revoked.status, revokedAt: revoked.revokedAt.toISOString(), alreadyRevoked: revoked.alreadyRevoked };
  });
}
