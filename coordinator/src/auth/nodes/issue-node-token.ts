import { AuthError, NODE_ROLE, readClientAssertion, REPLAY_TOKEN_TYPE, verifyClientAssertion } from '@medfed/proto/auth/index';
import { seconds, type AuthContext } from '../context.js';
import { issueAccessToken, type IssuedToken } from '../tokens/access-token.js';
import { rememberOnce } from '../store/replay-cache.js';
import { activeSiteKey } from '../store/site-keys.js';
import { acceptDpopProof, type ProofTarget } from './verify-proof.js';

/**
 * The node token endpoint: a client assertion signed with the site's enrolled key, plus a DPoP proof
 * with the same key, buys an access token bound to that key (cnf.jkt).
 */
export async function issueNodeToken(ctx: AuthContext, assertionToken: unknown, proof: string | undefined, target: ProofTarget): Promise<IssuedToken> {
  const assertion = readClientAssertion(assertionToken);
  const key = await activeSiteKey(ctx.db, assertion.siteId);
  if (!key) throw new AuthError('AUTH_SITE_NOT_ENROLLED', `site ${assertion.siteId} has no enrolled key; run medfed agent enroll with a code from an administrator`);
  const now = ctx.now();
  const { jti, exp } = verifyClientAssertion(assertion, key.public_jwk, {
    audience: ctx.settings.issuer, now: seconds(now), skewSeconds: ctx.settings.clockSkewSeconds,
  });
  const dpop = await acceptDpopProof(ctx, proof, target);
  if (dpop.jkt !== key.jkt) {
    throw new AuthError('AUTH_DPOP_KEY_MISMATCH', `the DPoP proof was signed by key ${dpop.jkt}, not site ${assertion.siteId}'s key ${key.jkt}`);
  }
  if (!(await rememberOnce(ctx.db, REPLAY_TOKEN_TYPE.assertion, key.jkt, jti, new Date((exp + ctx.settings.clockSkewSeconds) * 1000)))) {
    throw new AuthError('AUTH_ASSERTION_REPLAYED', `client assertion ${jti} was already used; sign a new one for every token request`);
  }
  const { rows } = await ctx.db.query<{ status: string }>('SELECT status FROM sites WHERE id = $1', [assertion.siteId]);
  if (rows[0]?.status === 'suspended') throw new AuthError('AUTH_SITE_SUSPENDED', `site ${assertion.siteId} is suspended`);
  if (rows[0]?.status === 'revoked') throw new AuthError('AUTH_SITE_REVOKED', `site ${assertion.siteId} was revoked`);
  return issueAccessToken(ctx.ring, {
    issuer: ctx.settings.issuer, audience: ctx.settings.audience, sub: assertion.siteId, role: NODE_ROLE, site: assertion.siteId, jkt: key.jkt,
  }, ctx.settings.nodeTokenSeconds, seconds(now));
}
