import { AuthError } from '@medfed/proto/auth/index';
import type { AuthContext } from '../context.js';
import { redeemEnrollmentCode } from '../store/enrollment-codes.js';
import { installSiteKey } from '../store/site-keys.js';
import { acceptDpopProof, type ProofTarget } from './verify-proof.js';

const SITE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Redeems a one-time enrollment code: the key in the DPoP proof (which that key signed) becomes the
 * site's only key. Re-enrollment with a new code replaces the previous key, which cuts off its tokens.
 */
export async function enrollSiteKey(ctx: AuthContext, siteId: string, code: string, proof: string | undefined, target: ProofTarget): Promise<{ jkt: string }> {
  if (!SITE_ID.test(siteId)) throw new AuthError('AUTH_REQUEST_INVALID', 'site_id must be a site id (a-z, 0-9, -)');
  if (typeof code !== 'string' || code.length === 0 || code.length > 64) throw new AuthError('AUTH_ENROLLMENT_CODE_INVALID', 'enrollment_code is required');
  const verified = await acceptDpopProof(ctx, proof, target);
  const now = ctx.now();
  await ctx.db.transaction(async (tx) => {
    const { rows } = await tx.query<{ status: string }>('SELECT status FROM sites WHERE id = $1', [siteId]);
    // Checked after the code so that an unknown site and a wrong code read the same.
    await redeemEnrollmentCode(tx, siteId, code, verified.jkt, now);
    if (rows[0]?.status === 'suspended') throw new AuthError('AUTH_SITE_SUSPENDED', `site ${siteId} is suspended; an administrator must reinstate it first`);
    if (rows[0]?.status === 'revoked') throw new AuthError('AUTH_SITE_REVOKED', `site ${siteId} was revoked and cannot enrol again; register the hospital under a new site id`);
    await installSiteKey(tx, siteId, verified.jwk, verified.jkt, 'enrollment');
  });
  ctx.caches.standing.clear(); // the previous key's tokens stop here and now
  return { jkt: verified.jkt };
}
