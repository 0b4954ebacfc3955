import type { Db } from '../storage/db.js';
import { checkTtl, DEFAULT_NONCE_TTL_MS, newNonce, nonceVerdict, purposeOf, type IssuedNonce, type NoncePurpose, type NonceScope, type NonceStore, type NonceVerdict } from './nonce-store.js';

interface NonceRow {
  job_id: string;
  round: number;
  site_id: string;
  purpose: NoncePurpose;
  expires_at: Date | string;
  superseded_at: Date | string | null;
  consumed_at: Date | string | null;
}

const asDate = (v: Date | string | null): Date | null => (v === null ? null : v instanceof Date ? v : new Date(v));

/**
 * Nonces in `attestation_nonces` (migrations/005.do.attestation.sql), on PostgreSQL or PGlite.
 * `consume` is one conditional UPDATE, so concurrent consumers of one nonce cannot both succeed;
 * `issue` takes a transaction-scoped advisory lock on the scope so two issues do not both stay live.
 */
export class SqlNonceStore implements NonceStore {
  private readonly db: Db;
  private readonly ttlMs: number;

  constructor(db: Db, options: { ttlMs?: number } = {}) {
    this.db = db;
    this.ttlMs = checkTtl(options.ttlMs ?? DEFAULT_NONCE_TTL_MS);
  }

  async issue(scope: NonceScope, now: Date = new Date()): Promise<IssuedNonce> {
    const nonce = newNonce();
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    const purpose = purposeOf(scope);
    await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`attestation-nonce:${purpose}:${scope.job}:${scope.round}:${scope.site}`]);
      await tx.query(
        `UPDATE attestation_nonces SET superseded_at = $4
          WHERE job_id = $1 AND round = $2 AND site_id = $3 AND purpose = $5 AND consumed_at IS NULL AND superseded_at IS NULL`,
        [scope.job, scope.round, scope.site, now, purpose],
      );
      await tx.query(
        'INSERT INTO attestation_nonces (nonce, job_id, round, site_id, purpose, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [nonce, scope.job, scope.round, scope.site, purpose, now, expiresAt],
      );
    });
    return { nonce, expiresAt };
  }

  async consume(scope: NonceScope, nonce: string, now: Date = new Date()): Promise<NonceVerdict> {
    const taken = await this.db.query(
      `UPDATE attestation_nonces SET consumed_at = $5
        WHERE nonce = $1 AND job_id = $2 AND round = $3 AND site_id = $4 AND purpose = $6
          AND consumed_at IS NULL AND superseded_at IS NULL AND expires_at > $5
        RETURNING nonce`,
      [nonce, scope.job, scope.round, scope.site, now, purposeOf(scope)],
    );
    if (taken.rows.length === 1) return 'ok';
    const { rows } = await this.db.query<NonceRow>(
      'SELECT job_id, round, site_id, purpose, expires_at, superseded_at, consumed_at FROM attestation_nonces WHERE nonce = $1',
      [nonce],
    );
    const row = rows[0];
    const verdict = nonceVerdict(row === undefined ? undefined : {
      job: row.job_id, round: Number(row.round), site: row.site_id, purpose: row.purpose,
      expiresAt: asDate(row.expires_at)!, supersededAt: asDate(row.superseded_at), consumedAt: asDate(row.consumed_at),
    }, scope, now);
    // The UPDATE refused it, so it cannot be `ok` now (a concurrent consumer won in between).
    return verdict === 'ok' ? 'replayed' : verdict;
  }

  /** Deletes nonces that expired before `before` (consumed ones included); returns how many. */
  async purgeExpired(before: Date): Promise<number> {
    const r = await this.db.query('DELETE FROM attestation_nonces WHERE expires_at < $1', [before]);
    return r.rowCount;
  }
}
