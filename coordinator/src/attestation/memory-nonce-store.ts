import { checkTtl, DEFAULT_NONCE_TTL_MS, newNonce, nonceVerdict, purposeOf, type IssuedNonce, type NoncePurpose, type NonceScope, type NonceStore, type NonceVerdict } from './nonce-store.js';

interface Row {
  job: string;
  round: number;
  site: string;
  purpose: NoncePurpose;
  expiresAt: Date;
  supersededAt: Date | null;
  consumedAt: Date | null;
}

/** A single-process nonce store (tests, the demo). State is lost on restart, which only refuses more. */
export class MemoryNonceStore implements NonceStore {
  private readonly rows = new Map<string, Row>();
  private readonly ttlMs: number;

  constructor(options: { ttlMs?: number } = {}) {
    this.ttlMs = checkTtl(options.ttlMs ?? DEFAULT_NONCE_TTL_MS);
  }

  async issue(scope: NonceScope, now: Date = new Date()): Promise<IssuedNonce> {
    for (const row of this.rows.values()) {
      if (row.job === scope.job && row.round === scope.round && row.site === scope.site && row.purpose === purposeOf(scope) && row.consumedAt === null && row.supersededAt === null) {
        row.supersededAt = now;
      }
    }
    const nonce = newNonce();
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    this.rows.set(nonce, { job: scope.job, round: scope.round, site: scope.site, purpose: purposeOf(scope), expiresAt, supersededAt: null, consumedAt: null });
    return { nonce, expiresAt };
  }

  async consume(scope: NonceScope, nonce: string, now: Date = new Date()): Promise<NonceVerdict> {
    const row = this.rows.get(nonce);
    const verdict = nonceVerdict(row, scope, now);
    if (verdict === 'ok') row!.consumedAt = now;
    return verdict;
  }
}
