import { createHmac, hkdfSync } from 'node:crypto';
import { MaskingError } from '../errors.js';

/**
 * Pseudonyms: HMAC-SHA-256 under a per-study key derived from the site's secret key with HKDF
 * (info = study id). The same value gets the same pseudonym within a study, so records still link;
 * across studies the keys differ, so two studies' pseudonyms cannot be joined; without the site key
 * nobody can recompute or reverse them. `domain` (the identifier type) keeps equal values of
 * different identifiers (an MRN and an account number) apart.
 */
export function studyKey(siteKey: Uint8Array, studyId: string): Uint8Array {
  if (siteKey.length < 32) throw new MaskingError('MASK_KEY_INVALID', 'the pseudonymisation key must be at least 32 bytes');
  if (studyId.trim() === '') throw new MaskingError('MASK_STUDY_REQUIRED', 'pseudonyms need a non-empty study id');
  return new Uint8Array(hkdfSync('sha256', siteKey, 'medfed/pseudonym/v1', `study:${studyId}`, 32));
}

export function pseudonymize(key: Uint8Array, domain: string, value: string): string {
  const mac = createHmac('sha256', key).update(domain).update('\0').update(value).digest('hex');
  return `ps_${mac.slice(0, 32)}`;
}
