import { AuthError, isPersonRole, SITE_BOUND_ROLES, type PersonRole } from '@medfed/proto/auth/index';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { seconds, type AuthContext } from '../context.js';
import type { OidcSettings } from '../settings.js';
import { createSession } from '../store/sessions.js';
import { issueAccessToken, type IssuedToken } from '../tokens/access-token.js';

/** jose codes that mean "the provider could not be asked", as opposed to "the token is bad". */
const UNAVAILABLE = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID']);

/**
 * Verifies tokens of an external OpenID Connect provider. Its JWKS is fetched on first use, cached
 * (10 min), and refetched for an unknown kid at most once per 30 s cooldown: a flood of unknown kids
 * costs at most one fetch per cooldown.
 */
export class OidcVerifier {
  readonly #settings: OidcSettings;
  readonly #jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(settings: OidcSettings) {
    this.#settings = settings;
    this.#jwks = createRemoteJWKSet(new URL(settings.jwksUri), { cooldownDuration: 30_000, cacheMaxAge: 600_000, timeoutDuration: 5_000 });
  }

  async verify(token: unknown, now: Date): Promise<{ subject: string; role: PersonRole; site: string | null }> {
    if (typeof token !== 'string' || token.length > 16_384) throw new AuthError('AUTH_OIDC_TOKEN_INVALID', 'id_token must be a compact JWT');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#jwks, {
        issuer: this.#settings.issuer, audience: this.#settings.audience, algorithms: [...this.#settings.algorithms],
        currentDate: now, maxTokenAge: '1h', requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === undefined || UNAVAILABLE.has(code)) {
        throw new AuthError('AUTH_OIDC_UNAVAILABLE', `the keys of ${this.#settings.issuer} could not be fetched from ${this.#settings.jwksUri}: ${(err as Error).message}`);
      }
      throw new AuthError('AUTH_OIDC_TOKEN_INVALID', `the OpenID Connect token was refused: ${(err as Error).message}`);
    }
    const claim = payload[this.#settings.roleClaim];
    const roles = (Array.isArray(claim) ? claim : [claim]).filter(isPersonRole);
    if (roles.length !== 1) {
      throw new AuthError('AUTH_OIDC_ROLE_MISSING', `claim ${this.#settings.roleClaim} must name exactly one medfed role (admin, site-steward, researcher, clinician, auditor); it names ${roles.length}`);
    }
    const role = roles[0]!;
    const siteClaim = payload[this.#settings.siteClaim];
    const site = SITE_BOUND_ROLES.includes(role) ? (typeof siteClaim === 'string' && /^[a-z0-9][a-z0-9-]{0,62}$/.test(siteClaim) ? siteClaim : null) : null;
    if (SITE_BOUND_ROLES.includes(role) && !site) throw new AuthError('AUTH_OIDC_ROLE_MISSING', `role ${role} needs a site in claim ${this.#settings.siteClaim}`);
    return { subject: `oidc:${this.#settings.issuer}#${payload.sub!}`, role, site };
  }
}

/** A login with a provider's token: a new session and our own access token. */
export async function loginWithOidc(ctx: AuthContext, verifier: OidcVerifier | null, idToken: unknown): Promise<IssuedToken> {
  if (!verifier) throw new AuthError('AUTH_OIDC_DISABLED', 'this coordinator has no auth.oidc provider configured');
  const now = ctx.now();
  const who = await verifier.verify(idToken, now);
  const sid = await createSession(ctx.db, { subject: who.subject, role: who.role, site: who.site, source: 'oidc', apiKeyId: null }, now);
  return issueAccessToken(ctx.ring, {
    issuer: ctx.settings.issuer, audience: ctx.settings.audience, sub: who.subject.slice(0, 200), role: who.role, site: who.site, sid,
  }, ctx.settings.personTokenSeconds, seconds(now));
}
