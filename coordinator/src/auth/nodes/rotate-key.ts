import { AuthError } from '@medfed/proto/auth/index';
import type { AuthContext } from '../context.js';
import type { Principal } from '../principal.js';
import { installSiteKey } from '../store/site-keys.js';
import { acceptDpopProof, type ProofTarget } from './verify-proof.js';

/**
 * Key rotation by the agent itself: the call is authenticated with the current key (token + DPoP),
 * and `newKeyProof` is a DPoP proof for the same call signed by the new key. The old key retires at once.
 */
export async function rotateSiteKey(ctx: AuthContext, principal: Principal, newKeyProof: string, target: ProofTarget): Promise<{ jkt: string }> {
  if (principal.kind !== 'node' || !principal.site) throw new AuthError('AUTH_ROLE_FORBIDDEN', 'only an enrolled agent can rotate its own key');
  const verified = await acceptDpopProof(ctx, newKeyProof, target);
  if (verified.jkt === principal.keyThumbprint) throw new AuthError('AUTH_REQUEST_INVALID', 'the new key is the current key; generate a new key to rotate');
  const site = principal.site;
  await ctx.db.transaction((tx) => installSiteKey(tx, site, verified.jwk, verified.jkt, 'rotation'));
  ctx.caches.standing.clear(); // the old key's tokens stop here and now
  return { jkt: verified.jkt };
}
