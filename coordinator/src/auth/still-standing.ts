import { AuthError } from '@medfed/proto/auth/index';
import type { Queryable } from '../storage/db.js';
import type { Principal } from './principal.js';
import { nodeStanding } from './store/site-keys.js';

/**
 * Whether a principal that authenticated earlier (an open stream) may still act: its session has not
 * ended and its API key is neither revoked nor expired (people), or its site is still allowed and the
 * key still its key (nodes). Read from the database every time, so a revocation made through another
 * replica counts as soon as it is committed. Refuses with the code a new request would get.
 */
export async function assertStillStanding(db: Queryable, principal: Principal, now: Date): Promise<void> {
  if (principal.kind === 'person' && principal.sessionId !== null) {
    const { rows } = await db.query<{ ended_at: Date | null; end_reason: string | null; key_revoked_at: Date | null; key_expires_at: Date | null }>(
      `SELECT s.ended_at, s.end_reason, k.revoked_at AS key_revoked_at, k.expires_at AS key_expires_at
         FROM auth_sessions s LEFT JOIN auth_api_keys k ON k.id = s.api_key_id WHERE s.id = $1`, [principal.sessionId]);
    const s = rows[0];
    if (!s) throw new AuthError('AUTH_SESSION_ENDED', 'the session of this stream no longer exists');
    if (s.ended_at) throw new AuthError(s.end_reason === 'idle' ? 'AUTH_SESSION_IDLE' : 'AUTH_SESSION_ENDED', `the session of this stream ended (${s.end_reason ?? 'ended'})`);
    if (s.key_revoked_at) throw new AuthError('AUTH_SESSION_ENDED', 'the API key of this stream\'s session was revoked');
    if (s.key_expires_at && s.key_expires_at.getTime() <= now.getTime()) throw new AuthError('AUTH_SESSION_ENDED', 'the API key of this stream\'s session expired');
    return;
  }
  if (principal.kind === 'node' && principal.keyThumbprint !== null) {
    const standing = await nodeStanding(db, principal.sub, principal.keyThumbprint);
    if (standing.siteStatus === 'suspended') throw new AuthError('AUTH_SITE_SUSPENDED', `site ${principal.sub} is suspended`);
    if (standing.siteStatus === 'revoked') throw new AuthError('AUTH_SITE_REVOKED', `site ${principal.sub} was revoked`);
    if (standing.siteStatus === null || standing.keyStatus !== 'active') throw new AuthError('AUTH_KEY_REVOKED', `key ${principal.keyThumbprint} is no longer site ${principal.sub}'s key`);
  }
}
