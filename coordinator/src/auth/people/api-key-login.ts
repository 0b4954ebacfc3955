import { AuthError, isPersonRole, SITE_BOUND_ROLES, type PersonRole } from '@medfed/proto/auth/index';
import { seconds, type AuthContext } from '../context.js';
import type { Principal } from '../principal.js';
import { authenticateApiKey, insertApiKey, formatApiKey, newApiKeyMaterial } from '../store/api-keys.js';
import { createSession, endSession, touchSession } from '../store/sessions.js';
import { issueAccessToken, type IssuedToken } from '../tokens/access-token.js';

/** A login with an API key: a new session, and a Bearer access token naming it. */
export async function loginWithApiKey(ctx: AuthContext, apiKey: unknown): Promise<IssuedToken> {
  const now = ctx.now();
  const row = await authenticateApiKey(ctx.db, apiKey, now);
  const sub = `key:${row.id}`;
  const sid = await createSession(ctx.db, { subject: sub, role: row.role, site: row.site_id, source: 'api-key', apiKeyId: row.id }, now);
  return issueAccessToken(ctx.ring, {
    issuer: ctx.settings.issuer, audience: ctx.settings.audience, sub, role: row.role, site: row.site_id, sid,
  }, ctx.settings.personTokenSeconds, seconds(now));
}

/** A fresh token for a live session (the session's idle and age limits apply: an idle session refuses). */
export async function refreshSession(ctx: AuthContext, principal: Principal): Promise<IssuedToken> {
  if (principal.kind !== 'person' || !principal.sessionId) throw new AuthError('AUTH_REQUEST_INVALID', 'only a person\'s session token can be refreshed; agents use IssueToken');
  const now = ctx.now();
  await touchSession(ctx.db, principal.sessionId, { idleSeconds: ctx.settings.sessionIdleSeconds, maxSeconds: ctx.settings.sessionMaxSeconds }, now, ctx.caches.sessions);
  return issueAccessToken(ctx.ring, {
    issuer: ctx.settings.issuer, audience: ctx.settings.audience, sub: principal.sub, role: principal.role, site: principal.site, sid: principal.sessionId,
  }, ctx.settings.personTokenSeconds, seconds(now));
}

export async function logout(ctx: AuthContext, principal: Principal): Promise<void> {
  if (!principal.sessionId) return;
  ctx.caches.sessions.delete(principal.sessionId);
  await endSession(ctx.db, principal.sessionId, 'logout', ctx.now());
}

const NAME = /^[\p{L}\p{N} ._@-]{1,100}$/u;

/** Issues an API key; the key is returned once and only its hash is stored. */
export async function createApiKey(ctx: AuthContext, input: { name: unknown; role: unknown; site?: unknown; days?: unknown; createdBy: string }): Promise<{ id: string; key: string; expiresAt: Date }> {
  const { name, role } = input;
  if (!isPersonRole(role)) throw new AuthError('AUTH_ROLE_INVALID', `role ${JSON.stringify(role)} is not one of admin, site-steward, researcher, clinician, auditor`);
  if (typeof name !== 'string' || !NAME.test(name)) throw new AuthError('AUTH_REQUEST_INVALID', 'name must be 1 to 100 letters, digits, spaces or . _ @ -');
  const siteBound = SITE_BOUND_ROLES.includes(role);
  const site = input.site === undefined || input.site === null || input.site === '' ? null : input.site;
  if (siteBound && typeof site !== 'string') throw new AuthError('AUTH_ROLE_INVALID', `role ${role} acts for one site: give --site (site)`);
  if (!siteBound && site !== null) throw new AuthError('AUTH_ROLE_INVALID', `role ${role} is not bound to a site: do not give a site`);
  const days = input.days === undefined ? ctx.settings.apiKeyDays : input.days;
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 365) throw new AuthError('AUTH_REQUEST_INVALID', 'expires_in_days must be an integer from 1 to 365');
  if (site !== null) {
    const { rows } = await ctx.db.query('SELECT 1 FROM sites WHERE id = $1', [site]);
    if (rows.length === 0) throw new AuthError('AUTH_ROLE_INVALID', `site ${String(site)} is not registered`);
  }
  const material = newApiKeyMaterial();
  const expiresAt = new Date(ctx.now().getTime() + days * 86_400_000);
  await insertApiKey(ctx.db, { ...material, name, role: role as PersonRole, site: site as string | null, createdBy: input.createdBy, expiresAt });
  return { id: material.id, key: formatApiKey(material.id, material.secret), expiresAt };
}
