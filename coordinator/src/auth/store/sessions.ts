import { AuthError, type PersonRole } from '@medfed/proto/auth/index';
import type { Queryable } from '../../storage/db.js';
import { randomId } from './secrets.js';
import type { TtlCache } from '../ttl-cache.js';

export interface SessionLimits {
  readonly idleSeconds: number;
  readonly maxSeconds: number;
}

/** Activity is written at most this often per session: idle time is measured to within this many seconds. */
export const ACTIVITY_WRITE_SECONDS = 15;

export async function createSession(db: Queryable, s: {
  subject: string; role: PersonRole; site: string | null; source: 'api-key' | 'oidc'; apiKeyId: string | null;
}, now = new Date()): Promise<string> {
  const id = `ses_${randomId(24)}`;
  await db.query(
    `INSERT INTO auth_sessions (id, subject, role, site_id, source, api_key_id, created_at, last_activity_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
    [id, s.subject, s.role, s.site, s.source, s.apiKeyId, now]);
  return id;
}

export interface SessionRow {
  id: string;
  created_at: Date;
  last_activity_at: Date;
  ended_at: Date | null;
  end_reason: string | null;
  key_revoked_at: Date | null;
  key_expires_at: Date | null;
}

/**
 * Automatic logoff: a session idle for longer than `idleSeconds`, older than `maxSeconds`, logged out,
 * or whose API key was revoked or expired, ends and refuses every further request and token.
 * Otherwise records the activity.
 */
export async function touchSession(db: Queryable, id: string, limits: SessionLimits, now = new Date(), cache?: TtlCache<SessionRow>): Promise<void> {
  let s = cache?.get(id);
  if (!s) {
    const { rows } = await db.query<SessionRow>(
      `SELECT s.id, s.created_at, s.last_activity_at, s.ended_at, s.end_reason, k.revoked_at AS key_revoked_at, k.expires_at AS key_expires_at
         FROM auth_sessions s LEFT JOIN auth_api_keys k ON k.id = s.api_key_id WHERE s.id = $1`, [id]);
    s = rows[0];
    if (s) cache?.set(id, s);
  }
  if (!s) throw new AuthError('AUTH_SESSION_ENDED', 'the session of this token does not exist; log in again');
  if (s.ended_at) throw new AuthError(s.end_reason === 'idle' ? 'AUTH_SESSION_IDLE' : 'AUTH_SESSION_ENDED', `the session ended (${s.end_reason ?? 'ended'}) at ${s.ended_at.toISOString()}; log in again`);
  const end = async (reason: string, code: 'AUTH_SESSION_IDLE' | 'AUTH_SESSION_ENDED', message: string): Promise<never> => {
    cache?.delete(id);
    await db.query('UPDATE auth_sessions SET ended_at = $2, end_reason = $3 WHERE id = $1 AND ended_at IS NULL', [id, now, reason]);
    throw new AuthError(code, message);
  };
  if (s.key_revoked_at) await end('api key revoked', 'AUTH_SESSION_ENDED', 'the API key of this session was revoked; the session ended');
  if (s.key_expires_at && s.key_expires_at.getTime() <= now.getTime()) await end('api key expired', 'AUTH_SESSION_ENDED', 'the API key of this session expired; the session ended');
  const idle = (now.getTime() - s.last_activity_at.getTime()) / 1000;
  if (idle > limits.idleSeconds) {
    await end('idle', 'AUTH_SESSION_IDLE', `the session was idle for ${Math.round(idle)} s (limit ${limits.idleSeconds} s) and was logged off; log in again`);
  }
  if ((now.getTime() - s.created_at.getTime()) / 1000 > limits.maxSeconds) {
    await end('maximum age', 'AUTH_SESSION_ENDED', `the session reached its maximum age of ${limits.maxSeconds} s; log in again`);
  }
  if (idle >= ACTIVITY_WRITE_SECONDS) {
    await db.query('UPDATE auth_sessions SET last_activity_at = $2 WHERE id = $1 AND ended_at IS NULL', [id, now]);
    cache?.set(id, { ...s, last_activity_at: now });
  }
}

export async function endSession(db: Queryable, id: string, reason: string, now = new Date()): Promise<void> {
  await db.query('UPDATE auth_sessions SET ended_at = $2, end_reason = $3 WHERE id = $1 AND ended_at IS NULL', [id, now, reason]);
}
