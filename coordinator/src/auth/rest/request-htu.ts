import type { FastifyRequest } from 'fastify';
import type { AuthSettings } from '../settings.js';

/**
 * The htu values a DPoP proof for this REST request may carry: the request path (no query) under each
 * configured origin, or (development, none configured) under the addresses this coordinator bound. The
 * request's Host header never counts: a caller could name any server there.
 */
export function requestHtus(req: FastifyRequest, settings: AuthSettings): string[] {
  const path = req.url.split('?')[0] ?? req.url;
  const origins = settings.restOrigins.length > 0 ? settings.restOrigins : settings.selfOrigins?.rest ?? [];
  return origins.map((o) => `${o.replace(/\/$/, '')}${path}`);
}
