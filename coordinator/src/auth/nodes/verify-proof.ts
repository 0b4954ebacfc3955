import { AuthError, REPLAY_TOKEN_TYPE, verifyDpopProof, type VerifiedDpopProof } from '@medfed/proto/auth/index';
import { seconds, type AuthContext } from '../context.js';
import { rememberOnce } from '../store/replay-cache.js';

/** Where a DPoP proof must point: the request's method and the URL(s) it may be addressed as. */
export interface ProofTarget {
  readonly htm: string;
  readonly htu: readonly string[];
}

/** Verifies a DPoP proof and records its jti, refusing a replay. */
export async function acceptDpopProof(ctx: AuthContext, proof: string | undefined, target: ProofTarget, accessToken?: string): Promise<VerifiedDpopProof> {
  if (!proof) throw new AuthError('AUTH_DPOP_MISSING', 'a DPoP proof is required (REST header DPoP, gRPC metadata dpop)');
  const now = ctx.now();
  const verified = verifyDpopProof(proof, {
    htm: target.htm, htu: target.htu, now: seconds(now), maxAgeSeconds: ctx.settings.dpopMaxAgeSeconds, skewSeconds: ctx.settings.clockSkewSeconds,
    ...(accessToken !== undefined ? { accessToken } : {}),
  });
  // Kept until no clock could still accept it: iat + max age + skew.
  const expiresAt = new Date((verified.iat + ctx.settings.dpopMaxAgeSeconds + ctx.settings.clockSkewSeconds) * 1000);
  if (!(await rememberOnce(ctx.db, REPLAY_TOKEN_TYPE.dpop, verified.jkt, verified.jti, expiresAt))) {
    throw new AuthError('AUTH_DPOP_REPLAYED', `DPoP proof ${verified.jti} was already used; make a new proof for every request`);
  }
  return verified;
}
