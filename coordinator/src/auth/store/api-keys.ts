import { AuthError, type PersonRole } from '@medfed/proto/auth/index';
import type { Queryable } from '../../storage/db.js';
import { randomId, sameDigest, sha256Hex } from './secrets.js';
import { randomBytes } from 'node:crypto';

export interface ApiKeyRow {
  id: string;
  name: string;
  role: PersonRole;
  site_id: string | null;
  secret_hash: string;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

/** The public listing of a key: never its secret or hash. */
export interface ApiKeyView {
  id: string; name: string; role: string; site: string | null; createdBy: string; createdAt: string; expiresAt: string;
  revokedAt: string | null; lastUsedAt: string | null;
}

const FORMAT = /^mfk_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$/;

/** `mfk_<id>_<secret>`: the id finds the row, the 256-bit secret is compared by hash. */
export function formatApiKey(id: string, secret: string): string {
  return `mfk_${id}_${secret}`;
}

export function parseApiKey(presented: unknown): { id: string; secret: string } | null {
  if (typeof presented !== 'string') return null;
  const m = FORMAT.exec(presented.trim());
  return m ? { id: m[1]!, secret: m[2]! } : null;
}

export function newApiKeyMaterial(): { id: string; secret: string } {
  return { id: randomId(16), secret: randomBytes(32).toString('base64url') };
}

export async function insertApiKey(db: Queryable, key: { id: string; secret: string; name: string; role: PersonRole; site: string | null; createdBy: string; expiresAt: Date }): Promise<void> {
  await db.query(
    `INSERT INTO auth_api_keys (id, name, role, site_id, secret_hash, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [key.id, key.name, key.role, key.site, sha256Hex(key.secret), key.createdBy, key.expiresAt]);
}

/** The key row for a presented API key, or the reason it cannot be used. Unknown id and wrong secret read the same. */
export async function authenticateApiKey(db: Queryable, presented: unknown, now = new Date()): Promise<ApiKeyRow> {
  const parsed = parseApiKey(presented);
  const invalid = () => new AuthError('AUTH_API_KEY_INVALID', 'the API key is not valid (expected mfk_<id>_<secret>, as printed by medfed admin create-key)');
  if (!parsed) throw invalid();
  const { rows } = await db.query<ApiKeyRow>('SELECT * FROM auth_api_keys WHERE id = $1', [parsed.id]);
  const row = rows[0];
  // Hash even when the id is unknown, so timing does not tell ids apart.
  const presentedHash = sha256Hex(parsed.secret);
  if (!row || !sameDigest(presentedHash, row.secret_hash)) throw invalid();
  if (row.revoked_at) throw new AuthError('AUTH_API_KEY_REVOKED', `API key ${row.id} (${row.name}) was revoked at ${row.revoked_at.toISOString()}`);
  if (row.expires_at.getTime() <= now.getTime()) throw new AuthError('AUTH_API_KEY_EXPIRED', `API key ${row.id} (${row.name}) expired at ${row.expires_at.toISOString()}; ask an administrator for a new one`);
  await db.query('UPDATE auth_api_keys SET last_used_at = $2 WHERE id = $1', [row.id, now]);
  return row;
}

/** Revokes a key and ends every session it opened. */
export async function revokeApiKey(db: Queryable, id: string, now = new Date()): Promise<void> {
  const { rowCount } = await db.query('UPDATE auth_api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1', [id, now]);
  if (rowCount === 0) throw new AuthError('AUTH_KEY_NOT_FOUND', `no API key with id ${id}`);
  await db.query(`UPDATE auth_sessions SET ended_at = $2, end_reason = 'api key revoked' WHERE api_key_id = $1 AND ended_at IS NULL`, [id, now]);
}

export async function listApiKeys(db: Queryable): Promise<ApiKeyView[]> {
  const { rows } = await db.query<ApiKeyRow>('SELECT * FROM auth_api_keys ORDER BY created_at, id');
  return rows.map((r) => ({
    id: r.id, name: r.name, role: r.role, site: r.site_id, createdBy: r.created_by, createdAt: r.created_at.toISOString(),
    expiresAt: r.expires_at.toISOString(), revokedAt: r.revoked_at?.toISOString() ?? null, lastUsedAt: r.last_used_at?.toISOString() ?? null,
  }));
}

export async function apiKeyRow(db: Queryable, id: string): Promise<ApiKeyRow | null> {
  const { rows } = await db.query<ApiKeyRow>('SELECT * FROM auth_api_keys WHERE id = $1', [id]);
  return rows[0] ?? null;
}
