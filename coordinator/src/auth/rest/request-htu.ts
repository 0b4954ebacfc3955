import type { FastifyRequest } from 'fastify';
import type { AuthSettings } from '../settings.js';

/**
 * The htu values a DPoP proof for this REST request may carry: the request path (no query) under each
 * configured origin, or under the origin the request arrived on when none is configured.
 */
export function requestHtus(req: FastifyRequest, settings: AuthSettings): string[] {
  const path = req.url.split('?')[0] ?? req.url;
  const origins = settings.restOrigins.length > 0 ? settings.restOrigins : [`${req.protocol}://${req.host}`];
  return origins.map((o) => `${o.replace(/\/$/, '')}${path}`);
}
