import { createHash } from 'node:crypto';
import type { Queryable } from '../../storage/db.js';

export type ReplayTokenType = 'DPoP' | 'client-assertion';

/**
 * Records a proof's jti; false when it was already there (a replay). The key is hashed with the
 * signing key's thumbprint so one agent cannot burn another's jtis and the column has a fixed size.
 * Shared through the database, so a proof replayed against another coordinator replica is caught too.
 */
export async function rememberOnce(db: Queryable, tokenType: ReplayTokenType, keyThumbprint: string, jti: string, expiresAt: Date): Promise<boolean> {
  const key = createHash('sha256').update(`${keyThumbprint}\n${jti}`).digest('base64url');
  const { rowCount } = await db.query(
    'INSERT INTO auth_replay (token_type, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [tokenType, key, expiresAt]);
  return rowCount === 1;
}

/** Drops entries whose proofs can no longer be accepted anyway. */
export async function purgeReplayCache(db: Queryable, now: Date): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM auth_replay WHERE expires_at < $1', [now]);
  return rowCount;
}
