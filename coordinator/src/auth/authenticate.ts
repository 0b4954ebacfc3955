import { AuthError, SCHEME_BEARER, SCHEME_DPOP } from '@medfed/proto/auth/index';
import { seconds, type AuthContext } from './context.js';
import { acceptDpopProof, type ProofTarget } from './nodes/verify-proof.js';
import type { Principal } from './principal.js';
import { touchSession } from './store/sessions.js';
import { nodeStanding } from './store/site-keys.js';
import { checkTokenTime, kidOf, verifyTokenSignatureAndClaims, type AccessTokenClaims } from './tokens/access-token.js';

/** What a request presents, from REST headers or gRPC metadata. */
export interface PresentedCredentials {
  readonly authorization: string | undefined;
  readonly dpop: string | undefined;
  readonly proofTarget: ProofTarget;
}

const CREDENTIAL = /^([A-Za-z]+) +([^\s]+)$/;

/**
 * Resolves the caller. Null when nothing was presented; a refusal (AuthError) when something was
 * presented and does not hold. Node tokens need a DPoP proof by their key and a site that is still
 * active with that key; person tokens need a live session.
 */
export async function authenticate(ctx: AuthContext, creds: PresentedCredentials): Promise<Principal | null> {
  const header = creds.authorization?.trim();
  if (!header) return null;
  const m = CREDENTIAL.exec(header);
  const scheme = m?.[1]?.toLowerCase();
  if (!m || (scheme !== 'bearer' && scheme !== 'dpop')) {
    throw new AuthError('AUTH_SCHEME_INVALID', `authorization must be "${SCHEME_BEARER} <token>" (people) or "${SCHEME_DPOP} <token>" with a DPoP proof (agents)`);
  }
  const token = m[2]!;
  const now = ctx.now();
  const claims = verifiedClaims(ctx, token);
  checkTokenTime(claims, { now: seconds(now), skewSeconds: ctx.settings.clockSkewSeconds });
  if (claims.cnf) {
    if (scheme !== 'dpop') throw new AuthError('AUTH_SCHEME_INVALID', 'this token is bound to a key: present it as "DPoP <token>" with a DPoP proof, never as Bearer');
    const proof = await acceptDpopProof(ctx, creds.dpop, creds.proofTarget, token);
    if (proof.jkt !== claims.cnf.jkt) {
      throw new AuthError('AUTH_DPOP_KEY_MISMATCH', `the DPoP proof was signed by key ${proof.jkt}; the token is bound to ${claims.cnf.jkt}`);
    }
    const standingKey = `${claims.sub}\n${claims.cnf.jkt}`;
    let standing = ctx.caches.standing.get(standingKey);
    if (!standing) {
      standing = await nodeStanding(ctx.db, claims.sub, claims.cnf.jkt);
      ctx.caches.standing.set(standingKey, standing);
    }
    if (standing.siteStatus === 'suspended') throw new AuthError('AUTH_SITE_SUSPENDED', `site ${claims.sub} is suspended: none of its credentials are honoured`);
    if (standing.siteStatus === 'revoked') throw new AuthError('AUTH_SITE_REVOKED', `site ${claims.sub} was revoked: none of its credentials are honoured`);
    if (standing.siteStatus === null || standing.keyStatus !== 'active') {
      throw new AuthError('AUTH_KEY_REVOKED', `key ${claims.cnf.jkt} is no longer site ${claims.sub}'s key (rotated or re-enrolled); get a token with the current key`);
    }
    return {
      kind: 'node', sub: claims.sub, role: claims.role, site: claims.sub, sessionId: null, tokenId: claims.jti,
      expiresAt: claims.exp, keyThumbprint: claims.cnf.jkt,
    };
  }
  if (scheme !== 'bearer') throw new AuthError('AUTH_SCHEME_INVALID', 'this token is not bound to a key: present it as "Bearer <token>"');
  if (!claims.sid) throw new AuthError('AUTH_CLAIMS_INVALID', 'access token: a person\'s token must name its session (sid)');
  await touchSession(ctx.db, claims.sid, { idleSeconds: ctx.settings.sessionIdleSeconds, maxSeconds: ctx.settings.sessionMaxSeconds }, now, ctx.caches.sessions);
  return {
    kind: 'person', sub: claims.sub, role: claims.role, site: claims.site ?? null, sessionId: claims.sid, tokenId: claims.jti,
    expiresAt: claims.exp, keyThumbprint: null,
  };
}

/**
 * The token's verified claims: from the cache when this exact token verified before and its key is
 * still published, otherwise verified now (and cached until it expires). The clock is checked by the caller.
 */
function verifiedClaims(ctx: AuthContext, token: string): AccessTokenClaims {
  const cached = ctx.caches.tokens.get(token);
  if (cached) {
    const kid = kidOf(token);
    if (kid !== undefined && ctx.ring.verifier(kid)) return cached;
    ctx.caches.tokens.delete(token);
  }
  const claims = verifyTokenSignatureAndClaims(token, ctx.ring, { issuer: ctx.settings.issuer, audience: ctx.settings.audience });
  ctx.caches.tokens.set(token, claims, claims.exp * 1000);
  return claims;
}
