import { createHash } from 'node:crypto';
import type { AttestationStatement } from './claims.js';

/**
 * An attestation that asks for a job's wrapped homomorphic key carries no update and no global
 * model. Its two binding fields (updateSha256 and manifestDigest) hold the key-release purpose
 * digest instead, and its round holds the key epoch, so the statement names exactly one (job, epoch)
 * key release and can never pass for a contribution (no update hashes to it; its nonce comes from the
 * key-release scope). See docs/sandbox.md, "Key release".
 */
export const KEY_RELEASE_PURPOSE_PREFIX = 'medfed-key-release:';

/** SHA-256 (hex) of `medfed-key-release:<job>:<epoch>` (UTF-8). */
export function keyReleasePurposeDigest(job: string, epoch: number): string {
  return createHash('sha256').update(`${KEY_RELEASE_PURPOSE_PREFIX}${job}:${epoch}`, 'utf8').digest('hex');
}

/** The statement a node attests before fetching its key; the trainer and sandbox measurements are the node's own. */
export function keyReleaseStatement(
  measurements: { readonly trainerDigest: string; readonly sandboxPolicyDigest: string; readonly sandboxed: boolean },
  release: { readonly site: string; readonly job: string; readonly epoch: number; readonly nonce: string },
): AttestationStatement {
  const purpose = keyReleasePurposeDigest(release.job, release.epoch);
  return {
    site: release.site,
    job: release.job,
    round: release.epoch,
    nonce: release.nonce,
    trainerDigest: measurements.trainerDigest,
    sandboxPolicyDigest: measurements.sandboxPolicyDigest,
    manifestDigest: purpose,
    updateSha256: purpose,
    sandboxed: measurements.sandboxed,
  };
}
