import { AuditError } from './errors.js';
import { isHash } from './hash.js';
import { canonicalBytes } from './jcs.js';

/**
 * A truncation anchor: when entries past retention are purged, the coordinator signs the seq and hash
 * of the last purged entry, so the remaining chain verifies from there (its first prev_hash is `hash`).
 * The JWS payload is the JCS of this object.
 */
export const AUDIT_TRUNCATION_TYPE = 'medfed.audit.truncation/v1';

export interface TruncationAnchor {
  readonly type: typeof AUDIT_TRUNCATION_TYPE;
  readonly seq: number;
  readonly hash: string;
  readonly purged_at: string;
  readonly count: number;
}

export function truncationPayload(anchor: Omit<TruncationAnchor, 'type'>): Uint8Array {
  return canonicalBytes({ ...anchor, type: AUDIT_TRUNCATION_TYPE });
}

export function parseTruncationPayload(payload: Uint8Array): TruncationAnchor {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw new AuditError('AUDIT_TRUNCATION_INVALID', 'the truncation anchor payload is not UTF-8 JSON');
  }
  const a = value as Partial<TruncationAnchor> | null;
  if (!a || a.type !== AUDIT_TRUNCATION_TYPE || !Number.isSafeInteger(a.seq) || (a.seq as number) < 1 || !isHash(a.hash)
    || typeof a.purged_at !== 'string' || !Number.isSafeInteger(a.count)) {
    throw new AuditError('AUDIT_TRUNCATION_INVALID', `the truncation anchor payload must be {type: "${AUDIT_TRUNCATION_TYPE}", seq, hash, purged_at, count}`);
  }
  return a as TruncationAnchor;
}
