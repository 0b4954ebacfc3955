import { AuthError, type PublicJwk } from '@medfed/proto/auth/index';
import type { Queryable } from '../../storage/db.js';

export interface SiteKeyRow {
  jkt: string;
  site_id: string;
  public_jwk: PublicJwk;
  status: 'active' | 'retired';
}

export interface NodeStanding {
  readonly siteStatus: string | null;
  readonly keyStatus: 'active' | 'retired' | null;
}

/** The site's active key, or null when it has not enrolled. */
export async function activeSiteKey(db: Queryable, siteId: string): Promise<SiteKeyRow | null> {
  const { rows } = await db.query<SiteKeyRow>(`SELECT jkt, site_id, public_jwk, status FROM auth_site_keys WHERE site_id = $1 AND status = 'active'`, [siteId]);
  return rows[0] ?? null;
}

/** One read per node request: is the site still allowed, and is this key still its key? */
export async function nodeStanding(db: Queryable, siteId: string, jkt: string): Promise<NodeStanding> {
  const { rows } = await db.query<{ site_status: string; key_status: 'active' | 'retired' | null }>(
    `SELECT s.status AS site_status, k.status AS key_status
       FROM sites s LEFT JOIN auth_site_keys k ON k.site_id = s.id AND k.jkt = $2
      WHERE s.id = $1`, [siteId, jkt]);
  return { siteStatus: rows[0]?.site_status ?? null, keyStatus: rows[0]?.key_status ?? null };
}

/** Makes `jwk` the site's only active key (inside the caller's transaction); the previous key retires. */
export async function installSiteKey(tx: Queryable, siteId: string, jwk: PublicJwk, jkt: string, source: 'enrollment' | 'rotation'): Promise<void> {
  const { rows } = await tx.query<{ site_id: string }>('SELECT site_id FROM auth_site_keys WHERE jkt = $1', [jkt]);
  if (rows[0]) {
    throw new AuthError('AUTH_KEY_REVOKED', rows[0].site_id === siteId
      ? `key ${jkt} was already used by site ${siteId}; a new enrollment or rotation needs a newly generated key`
      : `key ${jkt} belongs to another site; generate a new key`);
  }
  await tx.query(`UPDATE auth_site_keys SET status = 'retired', retired_at = now() WHERE site_id = $1 AND status = 'active'`, [siteId]);
  await tx.query(`INSERT INTO auth_site_keys (jkt, site_id, public_jwk, status, source) VALUES ($1, $2, $3, 'active', $4)`,
    [jkt, siteId, JSON.stringify(jwk), source]);
}
