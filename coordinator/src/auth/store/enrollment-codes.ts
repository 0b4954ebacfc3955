import { AuthError } from '@medfed/proto/auth/index';
import type { Queryable } from '../../storage/db.js';
import { randomBase32, randomId, sha256Hex } from './secrets.js';

/** 20 characters of a 32-letter alphabet: 100 bits, typed as five groups of four. */
function newCode(): string {
  return randomBase32(20).match(/.{4}/g)!.join('-');
}

/** Codes are compared after removing separators and case, so a code read aloud and retyped still works. */
export function normalizeEnrollmentCode(code: string): string {
  return code.replace(/[\s-]/g, '').toUpperCase();
}

export async function createEnrollmentCode(db: Queryable, siteId: string, createdBy: string, hours: number, now = new Date()): Promise<{ code: string; expiresAt: Date }> {
  const { rows } = await db.query<{ status: string }>('SELECT status FROM sites WHERE id = $1', [siteId]);
  if (rows.length === 0) throw new AuthError('AUTH_REQUEST_INVALID', `no site ${siteId} is registered; register it first (medfed sites add ${siteId})`);
  if (rows[0]!.status === 'revoked') throw new AuthError('AUTH_SITE_REVOKED', `site ${siteId} was revoked and cannot enrol again; register the hospital under a new site id`);
  const code = newCode();
  const expiresAt = new Date(now.getTime() + Math.min(hours, 24) * 3_600_000);
  await db.query(
    `INSERT INTO auth_enrollment_codes (id, site_id, code_hash, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
    [randomId(), siteId, sha256Hex(normalizeEnrollmentCode(code)), createdBy, now, expiresAt]);
  return { code, expiresAt };
}

/** Marks the code used (inside the caller's transaction) or refuses with why it cannot be used. */
export async function redeemEnrollmentCode(tx: Queryable, siteId: string, code: string, jkt: string, now = new Date()): Promise<void> {
  const hash = sha256Hex(normalizeEnrollmentCode(code));
  const { rows } = await tx.query<{ id: string; site_id: string; expires_at: Date; used_at: Date | null }>(
    'SELECT id, site_id, expires_at, used_at FROM auth_enrollment_codes WHERE code_hash = $1 FOR UPDATE', [hash]);
  const row = rows[0];
  if (!row || row.site_id !== siteId) {
    throw new AuthError('AUTH_ENROLLMENT_CODE_INVALID', `the enrollment code is not valid for site ${siteId}; ask an administrator for a code issued to this site`);
  }
  if (row.used_at) throw new AuthError('AUTH_ENROLLMENT_CODE_USED', `this enrollment code was already used (${row.used_at.toISOString()}); ask for a new one`);
  if (row.expires_at.getTime() <= now.getTime()) throw new AuthError('AUTH_ENROLLMENT_CODE_EXPIRED', `this enrollment code expired at ${row.expires_at.toISOString()}; ask for a new one`);
  await tx.query('UPDATE auth_enrollment_codes SET used_at = $2, used_by_jkt = $3 WHERE id = $1', [row.id, now, jkt]);
}
