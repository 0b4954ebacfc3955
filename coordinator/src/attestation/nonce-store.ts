import { randomBytes } from 'node:crypto';
import { AttestationVerificationError } from './errors.js';

/**
 * What a nonce may be spent on: a contribution (`training`, round = the round) or the release of a
 * job's wrapped key (`key-release`, round = the key epoch). Part of the scope, so one never stands in
 * for the other.
 */
export const NONCE_PURPOSES = ['training', 'key-release'] as const;
export type NoncePurpose = (typeof NONCE_PURPOSES)[number];

/** The unit a nonce is issued for: one site's contribution to one round of one job (or its key release for one epoch). */
export interface NonceScope {
  readonly job: string;
  readonly round: number;
  readonly site: string;
  /** Default `training`. */
  readonly purpose?: NoncePurpose;
}

export function purposeOf(scope: NonceScope): NoncePurpose {
  return scope.purpose ?? 'training';
}

export interface IssuedNonce {
  /** 32 random bytes, unpadded base64url (43 characters). */
  readonly nonce: string;
  readonly expiresAt: Date;
}

/** `ok` consumes the nonce; anything else leaves the store unchanged. */
export type NonceVerdict = 'ok' | 'replayed' | 'stale' | 'unknown';

/**
 * Issues a fresh nonce per (job, round, site) and consumes it at most once. Issuing again for the
 * same scope supersedes the earlier, unconsumed nonce (it becomes stale). Implementations must make
 * `consume` atomic: of two concurrent consumers of one nonce, exactly one gets `ok`.
 */
export interface NonceStore {
  issue(scope: NonceScope, now?: Date): Promise<IssuedNonce>;
  consume(scope: NonceScope, nonce: string, now?: Date): Promise<NonceVerdict>;
}

/** How long an issued nonce stays usable by default: one round's training and upload. */
export const DEFAULT_NONCE_TTL_MS = 2 * 60 * 60 * 1000;

export function newNonce(): string {
  return randomBytes(32).toString('base64url');
}

export function checkTtl(ttlMs: number): number {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1000) {
    throw new AttestationVerificationError('ATTESTATION_POLICY_INVALID', `nonce ttlMs must be an integer of at least 1000 ms, got ${ttlMs}`);
  }
  return ttlMs;
}

/** The state of a stored nonce decides the verdict; shared by every backend so they cannot drift. */
export function nonceVerdict(
  row: { job: string; round: number; site: string; purpose: NoncePurpose; expiresAt: Date; supersededAt: Date | null; consumedAt: Date | null } | undefined,
  scope: NonceScope,
  now: Date,
): NonceVerdict {
  if (row === undefined || row.job !== scope.job || row.round !== scope.round || row.site !== scope.site || row.purpose !== purposeOf(scope)) return 'unknown';
  if (row.consumedAt !== null) return 'replayed';
  if (row.supersededAt !== null || row.expiresAt.getTime() <= now.getTime()) return 'stale';
  return 'ok';
}
