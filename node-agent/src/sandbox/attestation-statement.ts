import type { AttestationStatement } from '@medfed/proto/attestation/index';
import type { TrainerSandbox } from './trainer-sandbox.js';

/**
 * The statement the agent attests for one update: the sandbox supplies the trainer build digest,
 * the digest of the policy it applied and whether it was sandboxed at all; the caller supplies the
 * round's binding (nonce from the coordinator, manifest of the global model, digest of the
 * encrypted update bytes it is about to send).
 */
export function attestationStatementFor(
  sandbox: Pick<TrainerSandbox, 'trainerDigest' | 'policyDigest' | 'sandboxed'>,
  round: { site: string; job: string; round: number; nonce: string; manifestDigest: string; updateSha256: string },
): AttestationStatement {
  return {
    site: round.site,
    job: round.job,
    round: round.round,
    nonce: round.nonce,
    trainerDigest: sandbox.trainerDigest,
    sandboxPolicyDigest: sandbox.policyDigest,
    manifestDigest: round.manifestDigest,
    updateSha256: round.updateSha256,
    sandboxed: sandbox.sandboxed,
  };
}
