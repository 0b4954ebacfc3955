import { MedfedError } from '@medfed/proto';
import type { VerifiedAttestation } from './verify-attestation.js';

/**
 * The details of an `attestation.verdict` audit event (proto/src/audit/actions.ts): verdict,
 * measurement, key_id and reason, from either outcome of verifyAttestation.
 */
export function attestationVerdictDetails(outcome: VerifiedAttestation | unknown): Record<string, string> {
  if (typeof outcome === 'object' && outcome !== null && 'claims' in outcome && 'kid' in outcome) {
    const ok = outcome as VerifiedAttestation;
    return {
      verdict: 'pass',
      measurement: ok.claims.trainerDigest,
      key_id: ok.kid,
      reason: ok.warnings.length > 0 ? ok.warnings.join('; ') : ok.assurance,
    };
  }
  const details = outcome instanceof MedfedError ? (outcome.details ?? {}) : {};
  return {
    verdict: 'fail',
    measurement: typeof details.trainerDigest === 'string' ? details.trainerDigest : '',
    key_id: typeof details.kid === 'string' ? details.kid : '',
    reason: outcome instanceof MedfedError ? outcome.code : 'ATTESTATION_VERIFY_FAILED',
  };
}
