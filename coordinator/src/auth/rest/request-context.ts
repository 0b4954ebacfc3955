import type { FastifyRequest } from 'fastify';
import { AuthError } from '@medfed/proto/auth/index';
import type { Principal } from '../principal.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; null on open routes. Set by the auth hook before any handler runs. */
    principal: Principal | null;
  }
}

/** The caller of a protected route (the hook guarantees one). */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new AuthError('AUTH_CREDENTIAL_MISSING', 'this route requires a credential');
  return req.principal;
}

/** The site a list must be limited to for this caller (`own-site-list` grants), or null for no limit. */
export function listScope(req: FastifyRequest): string | null {
  const p = req.principal;
  if (!p) return null;
  return p.role === 'site-steward' || p.role === 'clinician' || p.role === 'node' ? (p.site ?? '\u0000none') : null;
}
